/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config/: every rejection names the JSON path and the reason.
 * Part 1 is a table of hand-written bad configs with their exact messages.
 * Part 2 walks every value of the full fixture, swaps in a value of the
 * wrong type (and a negative number, and a fraction), and checks that the
 * error starts with exactly that value's path.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "config/oci.h"
#include "tap.h"

#define DOC(x) "{\"ociVersion\": \"1.2.0\", " x "}"
#define PROC(x) DOC("\"process\": {\"args\": [\"sh\"], \"cwd\": \"/\", " x "}")
#define LINUX(x) DOC("\"linux\": {" x "}")
#define RES(x) LINUX("\"resources\": {" x "}")
#define SECCOMP(x) LINUX("\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", " x "}")

struct bad_case {
	const char *json;
	const char *message; /* exact, or a prefix when prefix is set */
	bool prefix;
};

static const struct bad_case bad_cases[] = {
    /* document level */
    {"{\n  \"ociVersion\": \"1.0\",\n  bad\n}", "config.json: invalid JSON at line 3: ", true},
    {"{\"ociVersion\": ", "config.json: invalid JSON at line 1: unexpected end of input", false},
    {"", "config.json: invalid JSON at line 1: unexpected end of input", false},
    {"{\"ociVersion\": \"1\"} trailing", "config.json: invalid JSON at line 1: ", true},
    {"{'ociVersion': '1'}", "config.json: invalid JSON at line 1: ", true},
    {"{\"ociVersion\": \"1\",}", "config.json: invalid JSON at line 1: ", true},
    {"[]", "config.json: expected a JSON object", false},
    {"\"string\"", "config.json: expected a JSON object", false},
    {"{}", "ociVersion: required", false},
    {PROC("\"rlimits\": [{\"type\": \"RLIMIT_CPU\", \"hard\": 18446744073709551616, \"soft\": 1}]"),
     "config.json: integer 18446744073709551616 at line 1 does not fit in 64 bits", false},
    {"{\"ociVersion\": \"1\",\n\"x\": [-9223372036854775809]}",
     "config.json: integer -9223372036854775809 at line 2 does not fit in 64 bits", false},
    {"{\"ociVersion\": 1}", "ociVersion: expected string, got integer", false},
    {DOC("\"hostname\": \"a\\u0000b\""), "hostname: string contains a NUL character", false},
    {DOC("\"hostname\": [\"x\"]"), "hostname: expected string, got array", false},
    /* root */
    {DOC("\"root\": {}"), "root.path: required", false},
    {DOC("\"root\": {\"path\": \"\"}"), "root.path: must not be empty", false},
    {DOC("\"root\": {\"path\": \"r\", \"readonly\": \"yes\"}"), "root.readonly: expected boolean, got string",
     false},
    {DOC("\"root\": \"rootfs\""), "root: expected object, got string", false},
    /* process */
    {DOC("\"process\": {\"cwd\": \"/\"}"), "process.args: required", false},
    {DOC("\"process\": {\"args\": [], \"cwd\": \"/\"}"), "process.args: must not be empty", false},
    {DOC("\"process\": {\"args\": [\"sh\", 7], \"cwd\": \"/\"}"),
     "process.args[1]: expected string, got integer", false},
    {DOC("\"process\": {\"args\": [\"sh\"]}"), "process.cwd: required", false},
    {DOC("\"process\": {\"args\": [\"sh\"], \"cwd\": \"srv\"}"),
     "process.cwd: must be an absolute path, got \"srv\"", false},
    {PROC("\"env\": [\"A=1\", \"NOEQUALS\"]"), "process.env[1]: \"NOEQUALS\" is not NAME=VALUE", false},
    {PROC("\"env\": [\"=x\"]"), "process.env[0]: \"=x\" is not NAME=VALUE", false},
    {PROC("\"terminal\": 1"), "process.terminal: expected boolean, got integer", false},
    {PROC("\"consoleSize\": {\"height\": 10}"), "process.consoleSize.width: required", false},
    {PROC("\"user\": {\"uid\": -1}"), "process.user.uid: expected non-negative integer, got -1", false},
    {PROC("\"user\": {\"uid\": 4294967296}"),
     "process.user.uid: value 4294967296 out of range (max 4294967295)", false},
    {PROC("\"user\": {\"gid\": 1.0}"), "process.user.gid: expected integer, got number with fraction", false},
    {PROC("\"user\": {\"umask\": 4096}"), "process.user.umask: value 4096 out of range (max 4095)", false},
    {PROC("\"user\": {\"additionalGids\": [1, -2]}"),
     "process.user.additionalGids[1]: expected non-negative integer, got -2", false},
    {PROC("\"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_FOO\"]}"),
     "process.capabilities.bounding[1]: unknown capability \"CAP_FOO\"", false},
    {PROC("\"capabilities\": {\"ambient\": [\"cap_kill\"]}"),
     "process.capabilities.ambient[0]: unknown capability \"cap_kill\"", false},
    {PROC("\"capabilities\": {\"effective\": [\"12\"]}"),
     "process.capabilities.effective[0]: unknown capability \"12\"", false},
    {PROC("\"capabilities\": {\"permitted\": [\"CAP_Kill\"]}"),
     "process.capabilities.permitted[0]: unknown capability \"CAP_Kill\"", false},
    {PROC("\"capabilities\": {\"inheritable\": \"CAP_KILL\"}"),
     "process.capabilities.inheritable: expected array, got string", false},
    {PROC("\"rlimits\": [{\"type\": \"RLIMIT_FOO\", \"hard\": 1, \"soft\": 1}]"),
     "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"", false},
    {PROC("\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1}]"), "process.rlimits[0].soft: required",
     false},
    {PROC("\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1, \"soft\": -1}]"),
     "process.rlimits[0].soft: expected non-negative integer, got -1", false},
    {PROC("\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1, \"soft\": 1}, {\"type\": "
	  "\"RLIMIT_NOFILE\", \"hard\": 2, \"soft\": 2}]"),
     "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\"", false},
    {PROC("\"rlimits\": [\"RLIMIT_NOFILE\"]"), "process.rlimits[0]: expected object, got string", false},
    {PROC("\"oomScoreAdj\": 1001"), "process.oomScoreAdj: value out of range [-1000, 1000]", false},
    {PROC("\"ioPriority\": {\"class\": \"IOPRIO_CLASS_NONE\"}"),
     "process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_NONE\"", false},
    {PROC("\"ioPriority\": {\"class\": \"IOPRIO_CLASS_RT\", \"priority\": 8}"),
     "process.ioPriority.priority: value out of range [0, 7]", false},
    {PROC("\"ioPriority\": {\"priority\": 1}"), "process.ioPriority.class: required", false},
    {PROC("\"scheduler\": {\"policy\": \"SCHED_FAST\"}"),
     "process.scheduler.policy: unknown scheduling policy \"SCHED_FAST\"", false},
    {PROC("\"scheduler\": {\"policy\": \"SCHED_OTHER\", \"nice\": 20}"),
     "process.scheduler.nice: value out of range [-20, 19]", false},
    {PROC("\"scheduler\": {\"policy\": \"SCHED_RR\", \"flags\": [\"SCHED_FLAG_FOO\"]}"),
     "process.scheduler.flags[0]: unknown scheduler flag \"SCHED_FLAG_FOO\"", false},
    /* mounts and hooks */
    {DOC("\"mounts\": [{\"type\": \"tmpfs\"}]"), "mounts[0].destination: required", false},
    {DOC("\"mounts\": [{\"destination\": \"/a\"}, {\"destination\": \"tmp\"}]"),
     "mounts[1].destination: must be an absolute path, got \"tmp\"", false},
    {DOC("\"mounts\": [{\"destination\": \"/a\", \"options\": \"ro\"}]"),
     "mounts[0].options: expected array, got string", false},
    {DOC("\"mounts\": [{\"destination\": \"/a\", \"uidMappings\": [{\"containerID\": 0, "
	 "\"hostID\": 1}]}]"),
     "mounts[0].uidMappings[0].size: required", false},
    {DOC("\"mounts\": {\"destination\": \"/a\"}"), "mounts: expected array, got object", false},
    {DOC("\"hooks\": {\"prestart\": [{\"path\": \"hook\"}]}"),
     "hooks.prestart[0].path: must be an absolute path, got \"hook\"", false},
    {DOC("\"hooks\": {\"poststop\": [{\"path\": \"/h\", \"timeout\": 0}]}"),
     "hooks.poststop[0].timeout: value out of range [1, 2147483647]", false},
    {DOC("\"hooks\": {\"createRuntime\": [{\"args\": []}]}"), "hooks.createRuntime[0].path: required", false},
    {DOC("\"hooks\": {\"startContainer\": [{\"path\": \"/h\", \"env\": [\"X\"]}]}"),
     "hooks.startContainer[0].env[0]: \"X\" is not NAME=VALUE", false},
    {DOC("\"annotations\": {\"a\": \"b\", \"c.d\": 1}"), "annotations[\"c.d\"]: expected string, got integer",
     false},
    {DOC("\"annotations\": [\"a\"]"), "annotations: expected object, got array", false},
    /* linux */
    {LINUX("\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"uts\"}, {\"type\": \"foo\"}]"),
     "linux.namespaces[2].type: unknown namespace type \"foo\"", false},
    {LINUX("\"namespaces\": [{\"type\": \"net\"}]"),
     "linux.namespaces[0].type: unknown namespace type \"net\"", false},
    {LINUX("\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"pid\", \"path\": \"/proc/1/ns/pid\"}]"),
     "linux.namespaces[1].type: duplicate namespace type \"pid\"", false},
    {LINUX("\"namespaces\": [{\"path\": \"/x\"}]"), "linux.namespaces[0].type: required", false},
    {LINUX("\"namespaces\": [{\"type\": \"network\", \"path\": \"netns/x\"}]"),
     "linux.namespaces[0].path: must be an absolute path, got \"netns/x\"", false},
    {LINUX("\"uidMappings\": [{\"containerID\": 0, \"hostID\": -1, \"size\": 1}]"),
     "linux.uidMappings[0].hostID: expected non-negative integer, got -1", false},
    {LINUX("\"timeOffsets\": {\"realtime\": {\"secs\": 1}}"),
     "linux.timeOffsets: unknown clock \"realtime\" (want monotonic or boottime)", false},
    {LINUX("\"timeOffsets\": {\"boottime\": {\"secs\": 1, \"nanosecs\": 1000000000}}"),
     "linux.timeOffsets.boottime.nanosecs: value 1000000000 out of range (max 999999999)", false},
    {LINUX("\"devices\": [{\"path\": \"/dev/x\", \"type\": \"x\", \"major\": 1, \"minor\": 1}]"),
     "linux.devices[0].type: unknown device type \"x\" (want c, b, u or p)", false},
    {LINUX("\"devices\": [{\"path\": \"/dev/x\", \"type\": \"c\", \"minor\": 1}]"),
     "linux.devices[0].major: required", false},
    {LINUX("\"devices\": [{\"path\": \"dev/x\", \"type\": \"c\", \"major\": 1, \"minor\": 1}]"),
     "linux.devices[0].path: must be an absolute path, got \"dev/x\"", false},
    {LINUX("\"devices\": [{\"path\": \"/dev/x\", \"type\": \"c\", \"major\": 1, \"minor\": 1, "
	   "\"fileMode\": 131072}]"),
     "linux.devices[0].fileMode: value 131072 out of range (max 65535)", false},
    {LINUX("\"rootfsPropagation\": \"weird\""), "linux.rootfsPropagation: unknown propagation \"weird\"",
     false},
    {LINUX("\"maskedPaths\": [\"/proc/kcore\", \"proc/keys\"]"),
     "linux.maskedPaths[1]: must be an absolute path, got \"proc/keys\"", false},
    {LINUX("\"readonlyPaths\": [1]"), "linux.readonlyPaths[0]: expected string, got integer", false},
    {LINUX("\"sysctl\": {\"net.ipv4.ip_forward\": 1}"),
     "linux.sysctl[\"net.ipv4.ip_forward\"]: expected string, got integer", false},
    {LINUX("\"personality\": {\"domain\": \"LINUX64\"}"),
     "linux.personality.domain: unknown personality domain \"LINUX64\"", false},
    {LINUX("\"personality\": {}"), "linux.personality.domain: required", false},
    {LINUX("\"intelRdt\": {\"enableMBM\": \"true\"}"),
     "linux.intelRdt.enableMBM: expected boolean, got string", false},
    /* linux.resources */
    {RES("\"memory\": {\"limit\": \"1G\"}"), "linux.resources.memory.limit: expected integer, got string",
     false},
    {RES("\"memory\": {\"limit\": 1.5}"),
     "linux.resources.memory.limit: expected integer, got number with fraction", false},
    {RES("\"memory\": {\"limit\": 1e9}"),
     "linux.resources.memory.limit: expected integer, got number with fraction", false},
    {RES("\"memory\": {\"limit\": -2}"),
     "linux.resources.memory.limit: value out of range [-1, 9223372036854775807]", false},
    {RES("\"memory\": {\"limit\": 9223372036854775808}"),
     "linux.resources.memory.limit: value out of range [-1, 9223372036854775807]", false},
    {RES("\"memory\": {\"swappiness\": 101}"),
     "linux.resources.memory.swappiness: value 101 out of range (max 100)", false},
    {RES("\"memory\": {\"swappiness\": -1}"),
     "linux.resources.memory.swappiness: expected non-negative integer, got -1", false},
    {RES("\"memory\": {\"disableOOMKiller\": 0}"),
     "linux.resources.memory.disableOOMKiller: expected boolean, got integer", false},
    {RES("\"memory\": 512"), "linux.resources.memory: expected object, got integer", false},
    {RES("\"cpu\": {\"shares\": -1}"), "linux.resources.cpu.shares: expected non-negative integer, got -1",
     false},
    {RES("\"cpu\": {\"quota\": -2}"),
     "linux.resources.cpu.quota: value out of range [-1, 9223372036854775807]", false},
    {RES("\"cpu\": {\"idle\": 2}"), "linux.resources.cpu.idle: value out of range [0, 1]", false},
    {RES("\"cpu\": {\"cpus\": 0}"), "linux.resources.cpu.cpus: expected string, got integer", false},
    {RES("\"pids\": {}"), "linux.resources.pids.limit: required", false},
    {RES("\"pids\": {\"limit\": \"max\"}"), "linux.resources.pids.limit: expected integer, got string",
     false},
    {RES("\"devices\": [{\"access\": \"rwm\"}]"), "linux.resources.devices[0].allow: required", false},
    {RES("\"devices\": [{\"allow\": true, \"access\": \"rwx\"}]"),
     "linux.resources.devices[0].access: \"rwx\" is not a subset of \"rwm\"", false},
    {RES("\"devices\": [{\"allow\": true, \"type\": \"p\"}]"),
     "linux.resources.devices[0].type: unknown device type \"p\" (want a, b or c)", false},
    {RES("\"devices\": [{\"allow\": true, \"major\": -2}]"),
     "linux.resources.devices[0].major: value out of range [-1, 9223372036854775807]", false},
    {RES("\"blockIO\": {\"weight\": 65536}"),
     "linux.resources.blockIO.weight: value 65536 out of range (max 65535)", false},
    {RES("\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0}]}"),
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate: required", false},
    {RES("\"blockIO\": {\"weightDevice\": [{\"major\": -1, \"minor\": 0}]}"),
     "linux.resources.blockIO.weightDevice[0].major: value out of range [0, 9223372036854775807]", false},
    {RES("\"hugepageLimits\": [{\"limit\": 1}]"), "linux.resources.hugepageLimits[0].pageSize: required",
     false},
    /* pageSize is spliced into a cgroup file name: "../x" would leave the cgroup. */
    {RES("\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 1}, {\"pageSize\": \"../x\", \"limit\": "
	 "1}]"),
     "linux.resources.hugepageLimits[1].pageSize: invalid page size \"../x\" (want digits and KB, MB or GB, "
     "e.g. "
     "2MB)",
     false},
    {RES("\"hugepageLimits\": [{\"pageSize\": \"2MB/../../x\", \"limit\": 1}]"),
     "linux.resources.hugepageLimits[0].pageSize: invalid page size ", true},
    {RES("\"hugepageLimits\": [{\"pageSize\": \"MB\", \"limit\": 1}]"),
     "linux.resources.hugepageLimits[0].pageSize: invalid page size ", true},
    {RES("\"hugepageLimits\": [{\"pageSize\": \"2mb\", \"limit\": 1}]"),
     "linux.resources.hugepageLimits[0].pageSize: invalid page size ", true},
    {RES("\"hugepageLimits\": [{\"pageSize\": \"\", \"limit\": 1}]"),
     "linux.resources.hugepageLimits[0].pageSize: invalid page size ", true},
    {RES("\"network\": {\"classID\": -1}"),
     "linux.resources.network.classID: expected non-negative integer, got -1", false},
    {RES("\"network\": {\"priorities\": [{\"name\": \"eth0\"}]}"),
     "linux.resources.network.priorities[0].priority: required", false},
    {RES("\"rdma\": {\"mlx\": {\"hcaHandles\": \"3\"}}"),
     "linux.resources.rdma[\"mlx\"].hcaHandles: expected integer, got string", false},
    {RES("\"rdma\": {\"mlx\": 3}"), "linux.resources.rdma[\"mlx\"]: expected object", false},
    {RES("\"unified\": {\"memory.max\": 5}"),
     "linux.resources.unified[\"memory.max\"]: expected string, got integer", false},
    /* linux.seccomp */
    {LINUX("\"seccomp\": {}"), "linux.seccomp.defaultAction: required", false},
    {LINUX("\"seccomp\": {\"defaultAction\": \"SCMP_ACT_FOO\"}"),
     "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_FOO\"", false},
    {SECCOMP("\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_VAX\"]"),
     "linux.seccomp.architectures[1]: unknown seccomp architecture \"SCMP_ARCH_VAX\"", false},
    {SECCOMP("\"architectures\": [\"x86_64\"]"),
     "linux.seccomp.architectures[0]: unknown seccomp architecture \"x86_64\"", false},
    {SECCOMP("\"flags\": [\"SECCOMP_FILTER_FLAG_BOGUS\"]"),
     "linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_BOGUS\"", false},
    {SECCOMP("\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": "
	     "[\"write\"], \"action\": \"SCMP_ACT_DANCE\"}]"),
     "linux.seccomp.syscalls[1].action: unknown seccomp action \"SCMP_ACT_DANCE\"", false},
    {SECCOMP("\"syscalls\": [{\"names\": [], \"action\": \"SCMP_ACT_ALLOW\"}]"),
     "linux.seccomp.syscalls[0].names: must not be empty", false},
    {SECCOMP("\"syscalls\": [{\"names\": [\"read\", \"\"], \"action\": \"SCMP_ACT_ALLOW\"}]"),
     "linux.seccomp.syscalls[0].names[1]: must not be empty", false},
    {SECCOMP("\"syscalls\": [{\"action\": \"SCMP_ACT_ALLOW\"}]"), "linux.seccomp.syscalls[0].names: required",
     false},
    {SECCOMP("\"syscalls\": [{\"names\": [\"read\"]}]"), "linux.seccomp.syscalls[0].action: required", false},
    {SECCOMP("\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
	     "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_SIMILAR\"}]}]"),
     "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_SIMILAR\"", false},
    {SECCOMP("\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
	     "[{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]"),
     "linux.seccomp.syscalls[0].args[0].index: value 6 out of range (max 5)", false},
    {SECCOMP("\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
	     "[{\"index\": 0, \"op\": \"SCMP_CMP_EQ\"}]}]"),
     "linux.seccomp.syscalls[0].args[0].value: required", false},
    {SECCOMP("\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": "
	     "-1}]"),
     "linux.seccomp.syscalls[0].errnoRet: expected non-negative integer, got -1", false},
    {SECCOMP("\"syscalls\": [{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_NOTIFY\"}]"),
     "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used", false},
    {SECCOMP("\"listenerPath\": \"agent.sock\""),
     "linux.seccomp.listenerPath: must be an absolute path, got \"agent.sock\"", false},
};

static void test_bad_cases(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct hangar_error err = {0};
		struct oci_config *cfg = NULL;
		int r = oci_config_parse(c->json, &cfg, &err);
		bool match =
		    r < 0 && cfg == NULL && err.code == HANGAR_E_CONFIG &&
		    (c->prefix ? str_has_prefix(err.msg, c->message) : strcmp(err.msg, c->message) == 0);
		ok(match, "rejects: %s", c->message);
		if (!match)
			diag("got r=%d: '%s'", r, err.msg);
		oci_config_free(cfg);
	}
}

/* Values that are the spec's own: accepted even though they look odd. */
static void test_edge_values(void)
{
	static const char *const good[] = {
	    RES("\"memory\": {\"limit\": -1, \"swap\": -1, \"reservation\": -1}"),
	    RES("\"memory\": {\"limit\": 9223372036854775807}"),
	    RES("\"pids\": {\"limit\": 0}"),
	    RES("\"cpu\": {\"quota\": -1, \"realtimeRuntime\": -5}"),
	    RES("\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": "
		"18446744073709551615}]}"),
	    PROC("\"rlimits\": [{\"type\": \"RLIMIT_STACK\", \"hard\": 18446744073709551615, \"soft\": "
		 "18446744073709551615}]"),
	    PROC("\"user\": {\"uid\": 4294967295, \"gid\": 0}"),
	    PROC("\"oomScoreAdj\": -1000"),
	    LINUX("\"devices\": [{\"path\": \"/dev/f\", \"type\": \"p\"}]"),
	    LINUX("\"timeOffsets\": {\"monotonic\": {\"secs\": -9223372036854775808}}"),
	    SECCOMP("\"syscalls\": [{\"names\": [\"no_such_syscall_yet\"], \"action\": "
		    "\"SCMP_ACT_KILL\"}]"),
	    SECCOMP("\"architectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\", \"SCMP_ARCH_ARM\", "
		    "\"SCMP_ARCH_AARCH64\", \"SCMP_ARCH_PPC64LE\", \"SCMP_ARCH_S390X\", "
		    "\"SCMP_ARCH_MIPSEL64N32\", \"SCMP_ARCH_RISCV64\"]"),
	    LINUX("\"seccomp\": {\"defaultAction\": \"SCMP_ACT_NOTIFY\", \"listenerPath\": \"/a\"}"),
	    DOC("\"mounts\": []"),
	    DOC("\"hostname\": \"a\\\" 99999999999999999999999\", \"x\": [-9223372036854775808, 1e400]"),
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct hangar_error err = {0};
		struct oci_config *cfg = NULL;
		int r = oci_config_parse(good[i], &cfg, &err);
		ok(r == 0, "accepts edge value #%zu%s%s", i, r ? ": " : "", r ? err.msg : "");
		oci_config_free(cfg);
	}

	struct hangar_error err = {0};
	struct oci_config *cfg = NULL;
	if (oci_config_parse(RES("\"memory\": {\"limit\": -1}, \"cpu\": {\"shares\": "
				 "18446744073709551615}"),
			     &cfg, &err) == 0) {
		ok(cfg->linux_.resources.memory.limit == -1, "memory.limit -1 kept as -1");
		ok(cfg->linux_.resources.cpu.shares == UINT64_MAX, "cpu.shares 2^64-1 kept exactly");
		char *json = oci_config_to_json(cfg);
		ok(strstr(json, "18446744073709551615") != NULL, "2^64-1 written back exactly");
		free(json);
	} else {
		ok(0, "edge config parses: %s", err.msg);
	}
	oci_config_free(cfg);
}

/* ---- part 2: mutate every value of the full fixture ---- */

struct mutation_stats {
	int checked, failed;
};

/* Fields whose values are free-form maps: their keys are data, written ["k"]. */
static bool is_map_path(const char *path)
{
	return strcmp(path, "annotations") == 0 || strcmp(path, "linux.sysctl") == 0 ||
	       strcmp(path, "linux.resources.unified") == 0 || strcmp(path, "linux.resources.rdma") == 0;
}

/* Integers allowed to be negative (signed in the spec, with no -1 floor). */
static bool negative_allowed(const char *path)
{
	static const char *const signed_fields[] = {
	    "process.oomScoreAdj",
	    "process.scheduler.nice",
	    "process.scheduler.priority",
	    "linux.timeOffsets.monotonic.secs",
	    "linux.timeOffsets.boottime.secs",
	    "linux.resources.cpu.realtimeRuntime",
	    "linux.resources.pids.limit",
	};
	for (size_t i = 0; i < sizeof(signed_fields) / sizeof(signed_fields[0]); i++)
		if (strcmp(path, signed_fields[i]) == 0)
			return true;
	return false;
}

static void expect_rejected_at(struct json_object *doc, const char *path, const char *what,
			       struct mutation_stats *st)
{
	struct hangar_error err = {0};
	struct oci_config *cfg = NULL;
	const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	int r = oci_config_parse(text, &cfg, &err);
	size_t n = strlen(path);
	bool good = r < 0 && strncmp(err.msg, path, n) == 0 && strncmp(err.msg + n, ": ", 2) == 0;
	st->checked++;
	if (!good)
		st->failed++;
	ok(good, "%s at %s is rejected naming the path", what, path);
	if (!good)
		diag("got r=%d: '%s'", r, err.msg);
	oci_config_free(cfg);
}

static void expect_accepted(struct json_object *doc, const char *path, const char *what)
{
	struct hangar_error err = {0};
	struct oci_config *cfg = NULL;
	int r = oci_config_parse(json_object_to_json_string(doc), &cfg, &err);
	ok(r == 0, "%s at %s is accepted%s%s", what, path, r ? ": " : "", r ? err.msg : "");
	oci_config_free(cfg);
}

/* Replace the value at (parent, key | index) with repl, run check, restore. */
struct slot {
	struct json_object *parent;
	const char *key; /* NULL for arrays */
	size_t index;
};

static void slot_put(struct slot *s, struct json_object *v)
{
	if (s->key)
		json_object_object_add(s->parent, s->key, v);
	else
		json_object_array_put_idx(s->parent, s->index, v);
}

static void mutate(struct json_object *doc, struct slot *s, struct json_object *orig,
		   struct json_object *repl, const char *path, const char *what, bool expect_error,
		   struct mutation_stats *st)
{
	json_object_get(orig); /* keep it alive while replaced */
	slot_put(s, repl);
	if (expect_error)
		expect_rejected_at(doc, path, what, st);
	else
		expect_accepted(doc, path, what);
	slot_put(s, orig);
}

static void walk(struct json_object *doc, struct json_object *node, const char *path,
		 struct mutation_stats *st);

static void visit(struct json_object *doc, struct slot *s, struct json_object *val, const char *path,
		  struct mutation_stats *st)
{
	switch (json_object_get_type(val)) {
	case json_type_string:
		mutate(doc, s, val, json_object_new_int(12345), path, "integer for string", true, st);
		break;
	case json_type_boolean:
		mutate(doc, s, val, json_object_new_string("true"), path, "string for boolean", true, st);
		break;
	case json_type_int:
		mutate(doc, s, val, json_object_new_string("7"), path, "string for integer", true, st);
		mutate(doc, s, val, json_object_new_double(1.5), path, "fraction for integer", true, st);
		mutate(doc, s, val, json_object_new_boolean(1), path, "boolean for integer", true, st);
		mutate(doc, s, val, json_object_new_int(-5), path, "negative integer",
		       !negative_allowed(path), st);
		break;
	case json_type_object:
	case json_type_array:
		mutate(doc, s, val, json_object_new_int(7), path, "integer for container", true, st);
		walk(doc, val, path, st);
		break;
	default:
		break;
	}
}

static void walk(struct json_object *doc, struct json_object *node, const char *path,
		 struct mutation_stats *st)
{
	if (json_object_is_type(node, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(node); i++) {
			char *child = xasprintf("%s[%zu]", path, i);
			struct slot s = {node, NULL, i};
			visit(doc, &s, json_object_array_get_idx(node, i), child, st);
			free(child);
		}
		return;
	}
	bool map = is_map_path(path);
	json_object_object_foreach(node, key, val)
	{
		char *child = map ? xasprintf("%s[\"%s\"]", path, key)
				  : (*path ? xasprintf("%s.%s", path, key) : xstrdup(key));
		struct slot s = {node, key, 0};
		/* Fields the spec does not define are ignored whatever they hold. */
		if (!*path && (strcmp(key, "vm") == 0 || strcmp(key, "someFutureField") == 0))
			mutate(doc, &s, val, json_object_new_int(1), child, "unknown field changed", false,
			       st);
		else
			visit(doc, &s, val, child, st);
		free(child);
	}
}

static void test_mutations(void)
{
	const char *top = getenv("TOP");
	char *path = xasprintf("%s/tests/unit/fixtures/config-full.json", top ? top : ".");
	struct json_object *doc = json_object_from_file(path);
	ok(doc != NULL, "fixture %s loads with json-c", path);
	free(path);
	if (doc == NULL)
		return;
	struct mutation_stats st = {0, 0};
	walk(doc, doc, "", &st);
	ok(st.checked > 400, "mutated %d values (%d mis-reported)", st.checked, st.failed);
	json_object_put(doc);
}

/* ---- part 3: delete every key of the full fixture ---- */

/* Paths with every index and map key replaced by [*]. */
static char *normalised_path(const char *path)
{
	char *out = xmalloc0(strlen(path) + 1);
	size_t n = 0;
	for (const char *p = path; *p;) {
		if (*p == '[') {
			const char *close = p[1] == '"' ? strstr(p, "\"]") : strchr(p, ']');
			if (close == NULL)
				break;
			memcpy(out + n, "[*]", 3);
			n += 3;
			p = close + (p[1] == '"' ? 2 : 1);
			continue;
		}
		out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
}

static const char *const required_paths[] = {
    "ociVersion",
    "root.path",
    "process.args",
    "process.cwd",
    "process.consoleSize.height",
    "process.consoleSize.width",
    "process.rlimits[*].type",
    "process.rlimits[*].hard",
    "process.rlimits[*].soft",
    "process.ioPriority.class",
    "process.scheduler.policy",
    "mounts[*].destination",
    "mounts[*].uidMappings[*].containerID",
    "mounts[*].uidMappings[*].hostID",
    "mounts[*].uidMappings[*].size",
    "mounts[*].gidMappings[*].containerID",
    "mounts[*].gidMappings[*].hostID",
    "mounts[*].gidMappings[*].size",
    "hooks.prestart[*].path",
    "hooks.createRuntime[*].path",
    "hooks.createContainer[*].path",
    "hooks.startContainer[*].path",
    "hooks.poststart[*].path",
    "hooks.poststop[*].path",
    "linux.namespaces[*].type",
    "linux.uidMappings[*].containerID",
    "linux.uidMappings[*].hostID",
    "linux.uidMappings[*].size",
    "linux.gidMappings[*].containerID",
    "linux.gidMappings[*].hostID",
    "linux.gidMappings[*].size",
    "linux.devices[*].path",
    "linux.devices[*].type",
    "linux.devices[*].major",
    "linux.devices[*].minor",
    "linux.resources.devices[*].allow",
    "linux.resources.pids.limit",
    "linux.resources.blockIO.weightDevice[*].major",
    "linux.resources.blockIO.weightDevice[*].minor",
    "linux.resources.blockIO.throttleReadBpsDevice[*].major",
    "linux.resources.blockIO.throttleReadBpsDevice[*].minor",
    "linux.resources.blockIO.throttleReadBpsDevice[*].rate",
    "linux.resources.blockIO.throttleWriteBpsDevice[*].major",
    "linux.resources.blockIO.throttleWriteBpsDevice[*].minor",
    "linux.resources.blockIO.throttleWriteBpsDevice[*].rate",
    "linux.resources.blockIO.throttleReadIOPSDevice[*].major",
    "linux.resources.blockIO.throttleReadIOPSDevice[*].minor",
    "linux.resources.blockIO.throttleReadIOPSDevice[*].rate",
    "linux.resources.blockIO.throttleWriteIOPSDevice[*].major",
    "linux.resources.blockIO.throttleWriteIOPSDevice[*].minor",
    "linux.resources.blockIO.throttleWriteIOPSDevice[*].rate",
    "linux.resources.hugepageLimits[*].pageSize",
    "linux.resources.hugepageLimits[*].limit",
    "linux.resources.network.priorities[*].name",
    "linux.resources.network.priorities[*].priority",
    "linux.seccomp.defaultAction",
    "linux.seccomp.syscalls[*].names",
    "linux.seccomp.syscalls[*].action",
    "linux.seccomp.syscalls[*].args[*].index",
    "linux.seccomp.syscalls[*].args[*].value",
    "linux.seccomp.syscalls[*].args[*].op",
    "linux.personality.domain",
};

static const char *required_message(const char *path)
{
	/* The fixture uses SCMP_ACT_NOTIFY, which needs a listener. */
	if (strcmp(path, "linux.seccomp.listenerPath") == 0)
		return "required when SCMP_ACT_NOTIFY is used";
	char *norm = normalised_path(path);
	const char *msg = NULL;
	for (size_t i = 0; i < sizeof(required_paths) / sizeof(required_paths[0]); i++)
		if (strcmp(norm, required_paths[i]) == 0)
			msg = "required";
	free(norm);
	return msg;
}

static void check_deletion(struct json_object *doc, const char *path, int *counts)
{
	struct hangar_error err = {0};
	struct oci_config *cfg = NULL;
	const char *want = required_message(path);
	int r = oci_config_parse(json_object_to_json_string(doc), &cfg, &err);
	if (want) {
		char *expected = xasprintf("%s: %s", path, want);
		ok(r < 0 && strcmp(err.msg, expected) == 0, "without %s: rejected as %s", path, want);
		if (r == 0 || strcmp(err.msg, expected) != 0)
			diag("got r=%d: '%s'", r, err.msg);
		free(expected);
		counts[0]++;
	} else {
		ok(r == 0, "without optional %s: accepted%s%s", path, r ? ": " : "", r ? err.msg : "");
		counts[1]++;
	}
	oci_config_free(cfg);
}

static void delete_walk(struct json_object *doc, struct json_object *node, const char *path, int *counts)
{
	if (json_object_is_type(node, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(node); i++) {
			char *child = xasprintf("%s[%zu]", path, i);
			delete_walk(doc, json_object_array_get_idx(node, i), child, counts);
			free(child);
		}
		return;
	}
	if (!json_object_is_type(node, json_type_object))
		return;
	/* Collect the keys first: deleting and re-adding while iterating
	 * would invalidate the iterator. */
	size_t n = (size_t)json_object_object_length(node), i = 0;
	char **keys = xmalloc0((n + 1) * sizeof(char *));
	json_object_object_foreach(node, key, val)
	{
		(void)val;
		keys[i++] = xstrdup(key);
	}
	bool map = is_map_path(path);
	for (i = 0; i < n; i++) {
		char *child = map ? xasprintf("%s[\"%s\"]", path, keys[i])
				  : (*path ? xasprintf("%s.%s", path, keys[i]) : xstrdup(keys[i]));
		struct json_object *child_val = NULL;
		json_object_object_get_ex(node, keys[i], &child_val);
		json_object_get(child_val); /* keep it alive while deleted */
		json_object_object_del(node, keys[i]);
		check_deletion(doc, child, counts);
		json_object_object_add(node, keys[i], child_val);
		delete_walk(doc, child_val, child, counts);
		free(child);
	}
	strv_free(keys);
}

static void test_deletions(void)
{
	const char *top = getenv("TOP");
	char *path = xasprintf("%s/tests/unit/fixtures/config-full.json", top ? top : ".");
	struct json_object *doc = json_object_from_file(path);
	free(path);
	if (doc == NULL) {
		ok(0, "fixture loads with json-c");
		return;
	}
	int counts[2] = {0, 0};
	delete_walk(doc, doc, "", counts);
	ok(counts[0] > 60 && counts[1] > 100, "deleted %d required and %d optional keys", counts[0],
	   counts[1]);
	json_object_put(doc);
}

int main(void)
{
	test_bad_cases();
	test_edge_values();
	test_mutations();
	test_deletions();
	return tap_done();
}
