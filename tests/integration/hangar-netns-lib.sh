# Sourced after lib.sh by the hangar network tests.  Every hangar command of
# such a test runs inside a network namespace the test made (its "host"),
# so bridges, veths and nftables rules never touch the machine's network.
#
# hangar_host_netns PREFIX [nft]: a temporary store, the namespace
# $NS=PREFIX-PID with lo up (with "nft": nftables is needed and probed),
# removed at exit after every instance of the store is destroyed (lib.sh's
# _hangar_cleanup, through the hg below).
hangar_host_netns() {
	[ "$(id -u)" = 0 ] || skip_all "needs root"
	[ -x "$HANGAR" ] || bail_out "$HANGAR not built"
	[ "${2:-}" = nft ] && need_tool nft nftables
	export HANGAR_ROOT=$TEST_TMP/data HANGAR_RUN=$TEST_TMP/run
	NS=$1-$$
	ip netns add "$NS" || bail_out "ip netns add $NS failed"
	at_exit "ip netns del $NS"
	ip -n "$NS" link set lo up
	if [ "${2:-}" = nft ]; then
		ip netns exec "$NS" nft add table inet hgprobe 2>/dev/null || skip_all "kernel lacks nf_tables"
		ip netns exec "$NS" nft delete table inet hgprobe
	fi
	at_exit _hangar_cleanup
}
# nsenter switches only the network namespace: mounts stay shared with us.
inH() { nsenter --net="/run/netns/$NS" "$@"; }
hg() { inH "$HANGAR" "$@"; }
