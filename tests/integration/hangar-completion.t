#!/bin/bash
# The bash completion, driven as bash-completion drives it, against a store
# made of bare instance.json/image.json files (no instances run): verbs,
# instance and image names, and each verb's own options, where the same
# short option means different things (-t: exec --tty, stop --timeout;
# -f: destroy/stop --force, logs --follow, list --format).
. "$(dirname "$0")/lib.sh"
BC=/usr/share/bash-completion/bash_completion
# bash-completion is a test dependency (scripts/install-deps --test), not a
# kernel feature: its absence is a failure.
[ -f "$BC" ] || { echo "not ok 1 - $BC missing: run scripts/install-deps --test"; echo "1..1"; exit 1; }
C=$TOP/cli/hangar/hangar.bash-completion
S=$TEST_TMP/store
for n in alpha beta; do mkdir -p "$S/instances/$n" && echo '{}' >"$S/instances/$n/instance.json"; done
mkdir -p "$S/images/deb12" && echo '{}' >"$S/images/deb12/image.json"
mkdir -p "$TEST_TMP/cwd/dir1" && touch "$TEST_TMP/cwd/file1"

# comp WORDS...: what completing the last word offers, sorted, on one line.
comp() {
	(cd "$TEST_TMP/cwd" && HANGAR_ROOT=$S bash -c '
		. "$1"; . "$2"; shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_hangar; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"' _ "$BC" "$C" "$@" 2>&1)
}

is "$(comp hangar sta)" "start stats" "verbs"
is "$(comp hangar --root "$S" de)" "destroy" "verbs after a global option with a value"
is "$(comp hangar start '')" "--help alpha beta" "start: instance names"
is "$(comp hangar exec -t '')" "--cwd --env --help --tty alpha beta" "exec -t: instances (-t is --tty, takes no value)"
is "$(comp hangar exec --tty a)" "alpha" "exec --tty a: instance names"
is "$(comp hangar exec -e '')" "" "exec -e: a value, nothing offered"
is "$(comp hangar exec alpha -- '')" "" "exec NAME -- : the instance's command, nothing of ours"
is "$(comp hangar stop -t '')" "" "stop -t: a timeout value, nothing offered"
is "$(comp hangar stop -f '')" "--force --help --timeout alpha beta" "stop -f: instances (-f is --force), not table/json"
is "$(comp hangar destroy -f '')" "--force --help alpha beta" "destroy -f: instances, not table/json"
is "$(comp hangar restart -f b)" "beta" "restart -f b: instance names"
is "$(comp hangar logs -f '')" "--follow --help alpha beta" "logs -f: instances (-f is --follow)"
is "$(comp hangar list -f '')" "json table" "list -f: table json"
is "$(comp hangar stats --format '')" "json table" "stats --format: table json"
is "$(comp hangar info --format '')" "json text" "info --format: text json"
is "$(comp hangar migrate --format '')" "json text" "migrate --format: text json"
is "$(comp hangar image list --format '')" "json table" "image list --format: table json"
is "$(comp hangar create box --image '')" "deb12 default" "create --image: images"
is "$(comp hangar run -i d)" "deb12 default" "run -i: images"
is "$(comp hangar create box --network '')" "bridge hangar0 host none pasta slirp4netns" "create --network: network kinds"
is "$(comp hangar create box --memory '')" "" "create --memory: a size, nothing offered"
like "$(comp hangar run --r)" "^--rm$" "run: --rm"
is "$(comp hangar sandbox --k)" "--keep" "sandbox: --keep"
is "$(comp hangar sandbox --na)" "--name" "sandbox: --name"
is "$(comp hangar sandbox --name '')" "" "sandbox --name: a value, nothing offered"
is "$(comp hangar create --in)" "--init" "create: --init"
is "$(comp hangar checkpoint --l)" "--leave-running" "checkpoint: --leave-running"
is "$(comp hangar checkpoint --to '')" "dir1" "checkpoint --to: directories"
is "$(comp hangar restore --from '')" "dir1" "restore --from: directories"
is "$(comp hangar restore '')" "--from --help alpha beta" "restore: instances and --from"
is "$(comp hangar set alpha --c)" "--cpus --cpuset" "set: limit options"
is "$(comp hangar image '')" "--help debootstrap import list rm" "image: subcommands"
is "$(comp hangar image rm '')" "deb12 default" "image rm: images"
is "$(comp hangar --root "$TEST_TMP/cwd" start '')" "--help" "--root on the command line picks the store"
done_testing
