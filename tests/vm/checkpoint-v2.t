#!/bin/bash
# hangar-oci checkpoint/restore on a pure cgroup v2 host: boots the qemu test
# guest with the private CRIU (/opt/hangar/criu, copied whole) and the kernel
# modules criu needs, and runs tests/vm/checkpoint-v2.sh.
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
criu_prefix=${HANGAR_CRIU_PREFIX:-/opt/hangar/criu}
if [ ! -x "$criu_prefix/bin/criu" ]; then
	echo "not ok 1 - the private CRIU is installed at $criu_prefix (scripts/install-criu)"
	echo "1..1"
	exit 1
fi
# criu saves a network namespace's rules with iptables-save (and locks the
# network with iptables-restore): the tools and their match plugins.
tools=
for t in iptables-save ip6tables-save iptables-restore ip6tables-restore iptables-legacy-save \
	ip6tables-legacy-save iptables-legacy-restore ip6tables-legacy-restore; do
	command -v "$t" >/dev/null && tools="$tools $t"
done
xtables=/usr/lib/x86_64-linux-gnu/xtables
[ -d "$xtables" ] || xtables=
export HANGAR_VM_DIRS="$criu_prefix $xtables${HANGAR_VM_DIRS:+ $HANGAR_VM_DIRS}"
# criu dumps tmpfs contents with GNU tar options busybox's tar lacks.
export HANGAR_VM_TOOLS="${HANGAR_VM_TOOLS:-} tar gzip$tools"
# criu's socket dumping (sock_diag), its kerndat probes (tun) and the
# iptables network lock (the mark match).
export HANGAR_VM_MODULES="${HANGAR_VM_MODULES:-} unix_diag inet_diag tcp_diag udp_diag netlink_diag af_packet_diag
	tun nfnetlink nf_tables nft_compat x_tables xt_mark ip_tables iptable_filter ip6_tables ip6table_filter"
exec "$TOP/tests/vm/run-in-vm" tests/vm/checkpoint-v2.sh
