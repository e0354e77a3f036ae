/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for netns/ (no arguments), and a small driver for the
 * integration tests (`test_netns tool CMD ...`), which need the library and
 * tests/helpers/ are built without it.
 *
 * The unit tests that touch links run inside network namespaces they create
 * with unshare(); they never change the caller's namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "netns/internal.h"
#include "netns/net.h"
#include "tests/unit/tap.h"

/* ------------------------------------------------------------------ tool */

static int die(const struct hangar_error *err)
{
	fprintf(stderr, "error: %s\n", err->msg);
	return err->code == HANGAR_E_EXISTS ? 3 : err->code == HANGAR_E_CONFIG ? 2 : 1;
}

static void print_attachment(const struct network_attachment *a)
{
	char b[64];
	printf("network=%s\n", a->network);
	printf("ifname=%s\n", a->ifname);
	printf("host_ifname=%s\n", a->host_ifname);
	if (a->has_ipv4) {
		printf("ipv4=%s\n", net_prefix_format(&a->ipv4, true, b, sizeof(b)));
		printf("gateway4=%s\n", net_prefix_format(&a->gateway4, false, b, sizeof(b)));
	}
	if (a->has_ipv6) {
		printf("ipv6=%s\n", net_prefix_format(&a->ipv6, true, b, sizeof(b)));
		printf("gateway6=%s\n", net_prefix_format(&a->gateway6, false, b, sizeof(b)));
	}
	printf("mtu=%u\n", a->mtu);
	fflush(stdout);
}

static const char *pause_stage;

static void pause_at(const char *stage, void *data)
{
	if (pause_stage == NULL || strcmp(stage, pause_stage) != 0)
		return;
	printf("paused=%s\n", stage);
	fflush(stdout);
	for (;;)
		pause();
}

static int tool_create(int argc, char **argv)
{
	struct network_options o = {0};
	char *dns[8] = {0};
	size_t n_dns = 0;
	static const struct option opts[] = {
	    {"subnet4", required_argument, 0, '4'},  {"subnet6", required_argument, 0, '6'},
	    {"gateway4", required_argument, 0, 'g'}, {"bridge", required_argument, 0, 'b'},
	    {"mtu", required_argument, 0, 'm'},	     {"no-ipv6", no_argument, 0, 'N'},
	    {"no-ipv4", no_argument, 0, 'n'},	     {"no-masquerade", no_argument, 0, 'M'},
	    {"dns", required_argument, 0, 'd'},	     {0}};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case '4':
			o.subnet4 = optarg;
			break;
		case '6':
			o.subnet6 = optarg;
			break;
		case 'g':
			o.gateway4 = optarg;
			break;
		case 'b':
			o.bridge = optarg;
			break;
		case 'm':
			o.mtu = (unsigned)atoi(optarg);
			break;
		case 'N':
			o.no_ipv6 = true;
			break;
		case 'n':
			o.no_ipv4 = true;
			break;
		case 'M':
			o.no_masquerade = true;
			break;
		case 'd':
			if (n_dns < ARRAY_SIZE(dns) - 1)
				dns[n_dns++] = optarg;
			break;
		default:
			return 64;
		}
	}
	o.dns = n_dns ? dns : NULL;
	if (argc - optind != 2) {
		fprintf(stderr, "usage: create STATE NAME [options]\n");
		return 64;
	}
	struct hangar_error err = {0};
	struct network *net = NULL;
	if (network_create(argv[optind], argv[optind + 1], &o, &net, &err) < 0)
		return die(&err);
	network_free(net);
	return 0;
}

static int tool_attach(int argc, char **argv)
{
	struct network_attach_request req = {.netns_fd = -1, .on_stage = pause_at};
	struct port_mapping ports[16];
	static const struct option opts[] = {{"ifname", required_argument, 0, 'i'},
					     {"owner", required_argument, 0, 'o'},
					     {"port", required_argument, 0, 'p'},
					     {"pause-at", required_argument, 0, 'P'},
					     {"ip", required_argument, 0, '4'},
					     {"ip6", required_argument, 0, '6'},
					     {0}};
	struct hangar_error err = {0};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			req.ifname = optarg;
			break;
		case 'o':
			req.owner_pid = atoi(optarg);
			break;
		case 'p':
			if (req.n_ports == ARRAY_SIZE(ports))
				return 64;
			if (port_mapping_parse(optarg, &ports[req.n_ports], &err) < 0)
				return die(&err);
			req.n_ports++;
			break;
		case '4':
			req.ipv4 = optarg;
			break;
		case '6':
			req.ipv6 = optarg;
			break;
		case 'P':
			pause_stage = optarg;
			break;
		default:
			return 64;
		}
	}
	if (argc - optind != 4) {
		fprintf(stderr, "usage: attach STATE NETWORK INSTANCE NETNS_PATH [options]\n");
		return 64;
	}
	req.ports = ports;
	req.instance = argv[optind + 2];
	req.netns_path = argv[optind + 3];
	struct network_attachment att;
	if (network_attach(argv[optind], argv[optind + 1], &req, &att, &err) < 0)
		return die(&err);
	print_attachment(&att);
	network_attachment_clear(&att);
	return 0;
}

static int tool_etc(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: etc STATE INSTANCE HOSTNAME ROOTFS\n");
		return 64;
	}
	struct hangar_error err = {0};
	struct network_attachment *att = NULL;
	size_t n = 0;
	if (network_get_attachments(argv[1], argv[2], &att, &n, &err) < 0)
		return die(&err);
	struct network *net = NULL;
	if (n > 0 && network_load(argv[1], att[0].network, &net, &err) < 0)
		return die(&err);
	int r = network_write_etc_files(argv[4], argv[3], net, att, n, &err);
	network_free(net);
	network_attachments_free(att, n);
	return r < 0 ? die(&err) : 0;
}

static int tool_rootless(int argc, char **argv)
{
	struct rootless_net_request req = {0};
	struct port_mapping ports[16];
	struct hangar_error err = {0};
	static const struct option opts[] = {{"helper", required_argument, 0, 'h'},
					     {"port", required_argument, 0, 'p'},
					     {"runtime-dir", required_argument, 0, 'r'},
					     {"netns", required_argument, 0, 'n'},
					     {0}};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			req.helper = strcmp(optarg, "pasta") == 0	  ? ROOTLESS_NET_PASTA
				     : strcmp(optarg, "slirp4netns") == 0 ? ROOTLESS_NET_SLIRP4NETNS
									  : ROOTLESS_NET_AUTO;
			break;
		case 'p':
			if (req.n_ports == ARRAY_SIZE(ports))
				return 64;
			if (port_mapping_parse(optarg, &ports[req.n_ports], &err) < 0)
				return die(&err);
			req.n_ports++;
			break;
		case 'r':
			req.runtime_dir = optarg;
			break;
		case 'n':
			req.netns_path = optarg;
			break;
		default:
			return 64;
		}
	}
	if (argc - optind != 1) {
		fprintf(
		    stderr,
		    "usage: rootless PID|0 [--netns PATH] [--helper pasta|slirp4netns] [--port SPEC]...\n");
		return 64;
	}
	req.target_pid = atoi(argv[optind]);
	req.ports = ports;
	pid_t helper;
	enum rootless_net_helper used;
	if (rootless_net_start(&req, &helper, &used, &err) < 0)
		return die(&err);
	printf("helper=%s\nhelper_pid=%d\n", used == ROOTLESS_NET_PASTA ? "pasta" : "slirp4netns",
	       (int)helper);
	fflush(stdout);
	/* stay the helper's parent (as the monitor would) until told to stop */
	int status;
	waitpid(helper, &status, 0);
	return 0;
}

static int tool_main(int argc, char **argv)
{
	struct hangar_error err = {0};
	if (argc < 2) {
		fprintf(stderr,
			"usage: test_netns tool "
			"create|remove|attach|detach|detach-all|gc|list|attachments|etc|rootless ...\n");
		return 64;
	}
	const char *cmd = argv[1];
	argc--;
	argv++;
	if (strcmp(cmd, "create") == 0)
		return tool_create(argc, argv);
	if (strcmp(cmd, "attach") == 0)
		return tool_attach(argc, argv);
	if (strcmp(cmd, "etc") == 0)
		return tool_etc(argc, argv);
	if (strcmp(cmd, "rootless") == 0)
		return tool_rootless(argc, argv);
	if (strcmp(cmd, "remove") == 0 && argc == 3)
		return network_remove(argv[1], argv[2], &err) < 0 ? die(&err) : 0;
	if (strcmp(cmd, "detach") == 0 && argc == 4)
		return network_detach(argv[1], argv[2], argv[3], &err) < 0 ? die(&err) : 0;
	if (strcmp(cmd, "detach-all") == 0 && argc == 3)
		return network_detach_all(argv[1], argv[2], &err) < 0 ? die(&err) : 0;
	if (strcmp(cmd, "gc") == 0 && argc == 2) {
		struct network_gc_stats st;
		if (network_gc(argv[1], &st, &err) < 0)
			return die(&err);
		printf("leases_released=%u\nlinks_deleted=%u\nchains_deleted=%u\n", st.leases_released,
		       st.links_deleted, st.chains_deleted);
		return 0;
	}
	if (strcmp(cmd, "attachments") == 0 && argc == 3) {
		struct network_attachment *att = NULL;
		size_t n = 0;
		if (network_get_attachments(argv[1], argv[2], &att, &n, &err) < 0)
			return die(&err);
		for (size_t i = 0; i < n; i++)
			print_attachment(&att[i]);
		network_attachments_free(att, n);
		return 0;
	}
	if (strcmp(cmd, "list") == 0 && argc == 2) {
		char **names = NULL;
		if (network_list(argv[1], &names, &err) < 0)
			return die(&err);
		for (char **n = names; *n; n++)
			printf("%s\n", *n);
		strv_free(names);
		return 0;
	}
	fprintf(stderr, "test_netns tool: unknown command or wrong arguments: %s\n", cmd);
	return 64;
}

/* ------------------------------------------------------------ unit tests */

static char *make_tempdir(void)
{
	char tmpl[] = "/tmp/hangar-netns-unit.XXXXXX";
	if (mkdtemp(tmpl) == NULL)
		abort();
	return xstrdup(tmpl);
}

static void test_prefix(void)
{
	struct hangar_error err = {0};
	struct net_prefix p, q, a;
	char b[64];
	ok(net_prefix_parse("10.213.0.0/24", &p, &err) == 0 && p.family == AF_INET && p.prefixlen == 24,
	   "parse IPv4 CIDR");
	is_str(net_prefix_format(&p, true, b, sizeof(b)), "10.213.0.0/24", "format IPv4 CIDR");
	ok(net_prefix_parse("fd68:616e:6761::/64", &q, &err) == 0 && q.family == AF_INET6 &&
	       q.prefixlen == 64,
	   "parse IPv6 CIDR");
	ok(net_prefix_parse("10.0.0.0/33", &a, &err) < 0 && strstr(err.msg, "prefix length"),
	   "prefix length 33 refused: %s", err.msg);
	ok(net_prefix_parse("10.0.0/8", &a, &err) < 0 && strstr(err.msg, "not an IP address"),
	   "bad address refused: %s", err.msg);
	ok(net_prefix_parse("10.0.0.0/x", &a, &err) < 0, "non-numeric prefix refused");
	ok(net_prefix_nth(&p, 5, &a) == 0 &&
	       strcmp(net_prefix_format(&a, false, b, sizeof(b)), "10.213.0.5") == 0,
	   "5th address of 10.213.0.0/24 is %s", b);
	ok(net_prefix_nth(&p, 256, &a) < 0, "256th address of a /24 does not exist");
	ok(net_prefix_nth(&q, 0x1234, &a) == 0 &&
	       strcmp(net_prefix_format(&a, false, b, sizeof(b)), "fd68:616e:6761::1234") == 0,
	   "IPv6 nth address %s", b);
	struct net_prefix big, small, other;
	net_prefix_parse("10.0.0.0/8", &big, &err);
	net_prefix_parse("10.213.5.0/24", &small, &err);
	net_prefix_parse("192.168.0.0/16", &other, &err);
	ok(net_prefix_overlaps(&big, &small) && net_prefix_overlaps(&small, &big), "overlap is symmetric");
	ok(!net_prefix_overlaps(&big, &other), "disjoint subnets do not overlap");
	ok(!net_prefix_overlaps(&big, &q), "different families never overlap");
	ok(net_prefix_host_count(&p) == 254, "a /24 has 254 host addresses");
}

static void test_ports(void)
{
	struct hangar_error err = {0};
	struct port_mapping p;
	ok(port_mapping_parse("8080:80", &p, &err) == 0 && p.host_port == 8080 && p.container_port == 80 &&
	       p.protocol == IPPROTO_TCP && p.host_ip[0] == '\0',
	   "HOSTPORT:PORT defaults to tcp on every address");
	ok(port_mapping_parse("127.0.0.1:5353:53/udp", &p, &err) == 0 && p.protocol == IPPROTO_UDP &&
	       strcmp(p.host_ip, "127.0.0.1") == 0 && p.host_port == 5353 && p.container_port == 53,
	   "HOSTIP:HOSTPORT:PORT/udp");
	ok(port_mapping_parse("[::1]:8443:443/tcp", &p, &err) == 0 && strcmp(p.host_ip, "::1") == 0 &&
	       p.host_port == 8443,
	   "[IPv6]:HOSTPORT:PORT");
	ok(port_mapping_parse("8080:80/sctp", &p, &err) < 0 && strstr(err.msg, "tcp or udp"),
	   "sctp refused: %s", err.msg);
	ok(port_mapping_parse("70000:80", &p, &err) < 0 && strstr(err.msg, "port number"),
	   "port 70000 refused: %s", err.msg);
	ok(port_mapping_parse("80", &p, &err) < 0, "a single port is refused");
	ok(port_mapping_parse("1.2.3:80:80", &p, &err) < 0 && strstr(err.msg, "not an IP address"),
	   "bad host address refused: %s", err.msg);
}

static void test_network_definitions(void)
{
	struct hangar_error err = {0};
	_cleanup_free_ char *dir = make_tempdir();
	struct network *net = NULL;
	ok(network_ensure_default(dir, &net, &err) == 0, "default network created");
	if (net) {
		char b[64];
		is_str(net->name, NETWORK_DEFAULT_NAME, "default network name");
		is_str(net_prefix_format(&net->subnet4, true, b, sizeof(b)), NETWORK_DEFAULT_SUBNET4,
		       "default subnet");
		is_str(net_prefix_format(&net->gateway4, false, b, sizeof(b)), "10.213.0.1",
		       "default gateway");
		ok(net->has_subnet6 && net->masquerade, "default has IPv6 and masquerade");
		network_free(net);
		net = NULL;
	}
	ok(network_ensure_default(dir, &net, &err) == 0, "ensure_default again loads it");
	network_free(net);
	net = NULL;

	struct network_options o = {.subnet4 = "10.213.0.128/25", .no_ipv6 = true};
	ok(network_create(dir, "other", &o, NULL, &err) < 0 && strstr(err.msg, "overlaps") &&
	       strstr(err.msg, NETWORK_DEFAULT_NAME),
	   "overlapping subnet refused: %s", err.msg);
	o.subnet4 = "10.214.0.0/16";
	o.no_ipv6 = false;
	o.subnet6 = "fd68:616e:6761::/64";
	ok(network_create(dir, "other", &o, NULL, &err) < 0 && strstr(err.msg, "overlaps"),
	   "overlapping IPv6 subnet refused: %s", err.msg);
	/* without a subnet6, each new network gets its own /64 of the pool
	 * instead of colliding with hangar0's (the README example) */
	o.subnet6 = NULL;
	struct network *n1 = NULL, *n2 = NULL;
	ok(network_create(dir, "other", &o, &n1, &err) == 0, "network without --subnet6 created: %s",
	   err.msg);
	struct network_options o2 = {.subnet4 = "10.216.0.0/24"};
	ok(network_create(dir, "third", &o2, &n2, &err) == 0, "a second one too: %s", err.msg);
	if (n1 && n2) {
		char a[64], b[64];
		net_prefix_format(&n1->subnet6, true, a, sizeof(a));
		net_prefix_format(&n2->subnet6, true, b, sizeof(b));
		ok(strcmp(a, NETWORK_DEFAULT_SUBNET6) != 0 && strcmp(b, NETWORK_DEFAULT_SUBNET6) != 0 &&
		       strcmp(a, b) != 0 && strncmp(a, "fd68:616e:6761:", 15) == 0 &&
		       strncmp(b, "fd68:616e:6761:", 15) == 0,
		   "pool /64s differ from hangar0's and each other: %s %s", a, b);
		is_str(net_prefix_format(&n2->gateway6, false, b, sizeof(b)), "fd68:616e:6761:2::1",
		       "its gateway is the pool subnet's first address");
	}
	network_free(n1);
	network_free(n2);
	ok(network_create(dir, "other", &o, NULL, &err) < 0 && err.code == HANGAR_E_EXISTS, "name taken: %s",
	   err.msg);
	struct network_options bad = {.subnet4 = "10.300.0.0/24", .no_ipv6 = true};
	ok(network_create(dir, "bad1", &bad, NULL, &err) < 0 && strstr(err.msg, "invalid CIDR"),
	   "invalid CIDR refused: %s", err.msg);
	bad.subnet4 = "10.99.0.0/31";
	ok(network_create(dir, "bad2", &bad, NULL, &err) < 0 && strstr(err.msg, "prefix too small"),
	   "/31 refused as too small: %s", err.msg);
	bad.subnet4 = "10.99.0.5/24";
	ok(network_create(dir, "bad3", &bad, NULL, &err) < 0 && strstr(err.msg, "host bits"),
	   "host bits refused: %s", err.msg);
	bad.subnet4 = "10.99.0.0/24";
	bad.gateway4 = "10.98.0.1";
	ok(network_create(dir, "bad4", &bad, NULL, &err) < 0 && strstr(err.msg, "gateway"),
	   "gateway outside subnet refused: %s", err.msg);
	bad.gateway4 = "10.99.0.255";
	ok(network_create(dir, "bad5", &bad, NULL, &err) < 0 && strstr(err.msg, "gateway"),
	   "broadcast gateway refused: %s", err.msg);
	bad.gateway4 = NULL;
	ok(network_create(dir, "1bad", &bad, NULL, &err) < 0 && strstr(err.msg, "letter"),
	   "name starting with a digit refused: %s", err.msg);
	ok(network_create(dir, "none", &bad, NULL, &err) < 0, "built-in name refused");
	ok(network_load(dir, "none", &net, &err) == 0 && net->mode == NETWORK_MODE_NONE,
	   "'none' is built in");
	network_free(net);
	net = NULL;
	ok(network_load(dir, "nosuch", &net, &err) < 0 && err.code == HANGAR_E_NOTFOUND,
	   "missing network: %s", err.msg);
	char **names = NULL;
	ok(network_list(dir, &names, &err) == 0 && strv_len(names) == 3, "three networks listed");
	strv_free(names);
	ok(network_remove(dir, "nosuch", &err) < 0 && err.code == HANGAR_E_NOTFOUND,
	   "removing a missing network fails");
	struct hangar_error ignored;
	rm_rf(dir, &ignored);
}

/* 20 processes allocate at once; every address must be distinct. */
static void test_ipam_concurrent(void)
{
	struct hangar_error err = {0};
	_cleanup_free_ char *dir = make_tempdir();
	struct network_options o = {.subnet4 = "10.77.0.0/24", .subnet6 = "fd68:616e:6799::/64"};
	struct network *net = NULL;
	ok(network_create(dir, "ipam", &o, &net, &err) == 0, "network for IPAM test");
	if (net == NULL)
		return;
	enum { N = 20 };
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct hangar_error e = {0};
			char name[32];
			snprintf(name, sizeof(name), "inst%d", i);
			int lock = network_state_lock(dir, &e);
			if (lock < 0)
				_exit(1);
			struct lease_table t;
			struct lease *l;
			if (lease_table_load(dir, "ipam", &t, &e) < 0 ||
			    ipam_allocate(net, &t, name, NULL, NULL, &l, &e) < 0)
				_exit(2);
			/* widen the window a concurrent writer would need */
			usleep(1000);
			if (lease_table_save(dir, "ipam", &t, &e) < 0)
				_exit(3);
			_exit(0);
		}
	}
	int failures = 0;
	for (int i = 0; i < N; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		failures += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ok(failures == 0, "20 concurrent allocations succeeded (%d failed)", failures);
	struct lease_table t = {0};
	ok(lease_table_load(dir, "ipam", &t, &err) == 0 && t.n == N, "20 leases recorded (%zu)", t.n);
	int dup4 = 0, dup6 = 0, gw = 0;
	for (size_t i = 0; i < t.n; i++) {
		gw += net_prefix_equal_addr(&t.leases[i].ipv4, &net->gateway4);
		for (size_t j = 0; j < i; j++) {
			dup4 += net_prefix_equal_addr(&t.leases[i].ipv4, &t.leases[j].ipv4);
			dup6 += net_prefix_equal_addr(&t.leases[i].ipv6, &t.leases[j].ipv6);
		}
	}
	ok(dup4 == 0 && dup6 == 0, "no address handed out twice (dup4=%d dup6=%d)", dup4, dup6);
	ok(gw == 0, "the gateway address is never leased");
	lease_table_clear(&t);
	network_free(net);
	struct hangar_error ignored;
	rm_rf(dir, &ignored);
}

static void test_ipam_exhaustion(void)
{
	struct hangar_error err = {0};
	_cleanup_free_ char *dir = make_tempdir();
	struct network_options o = {.subnet4 = "10.78.0.0/29", .no_ipv6 = true};
	struct network *net = NULL;
	ok(network_create(dir, "tiny", &o, &net, &err) == 0, "a /29 network");
	if (net == NULL)
		return;
	struct lease_table t = {0};
	struct lease *l;
	int got = 0;
	char name[16];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "i%d", i);
		if (ipam_allocate(net, &t, name, NULL, NULL, &l, &err) < 0)
			break;
		got++;
	}
	ok(got == 5, "a /29 gives 5 instance addresses (got %d)", got);
	ok(strstr(err.msg, "exhausted") != NULL, "then says exhausted: %s", err.msg);
	struct lease *first = lease_table_find(&t, "i2");
	struct net_prefix freed = first->ipv4;
	lease_table_remove(&t, first);
	ok(ipam_allocate(net, &t, "again", NULL, NULL, &l, &err) == 0 &&
	       net_prefix_equal_addr(&l->ipv4, &freed),
	   "a released address is reused");
	lease_table_clear(&t);
	char b[64];
	ok(ipam_allocate(net, &t, "static", "10.78.0.5", NULL, &l, &err) == 0 &&
	       strcmp(net_prefix_format(&l->ipv4, true, b, sizeof(b)), "10.78.0.5/29") == 0,
	   "a requested static address is given (%s)", b);
	ok(ipam_allocate(net, &t, "dyn", NULL, NULL, &l, &err) == 0 &&
	       strcmp(net_prefix_format(&l->ipv4, false, b, sizeof(b)), "10.78.0.2") == 0,
	   "dynamic allocation skips around it (%s)", b);
	ok(ipam_allocate(net, &t, "clash", "10.78.0.5", NULL, &l, &err) < 0 && err.code == HANGAR_E_EXISTS &&
	       strstr(err.msg, "already leased to instance 'static'"),
	   "a taken static address is refused: %s", err.msg);
	ok(ipam_allocate(net, &t, "gw", "10.78.0.1", NULL, &l, &err) < 0 &&
	       strstr(err.msg, "not an instance address"),
	   "the gateway cannot be requested: %s", err.msg);
	ok(ipam_allocate(net, &t, "bc", "10.78.0.7", NULL, &l, &err) < 0,
	   "the broadcast address cannot be requested");
	ok(ipam_allocate(net, &t, "out", "10.79.0.3", NULL, &l, &err) < 0,
	   "an address outside the subnet is refused");
	ok(ipam_allocate(net, &t, "v6", NULL, "fd00::5", &l, &err) < 0 && strstr(err.msg, "no IPv6 subnet"),
	   "IPv6 on an IPv4-only network is refused: %s", err.msg);
	lease_table_clear(&t);
	network_free(net);
	struct hangar_error ignored;
	rm_rf(dir, &ignored);
}

static void test_etc_files(void)
{
	struct hangar_error err = {0};
	struct network_attachment att = {0};
	net_prefix_parse("10.213.0.7/24", &att.ipv4, &err);
	net_prefix_parse("fd68:616e:6761::7/64", &att.ipv6, &err);
	net_prefix_parse("10.213.0.1", &att.gateway4, &err);
	att.has_ipv4 = att.has_ipv6 = true;
	_cleanup_free_ char *hosts = network_hosts_content("web1", &att, 1);
	ok(strstr(hosts, "127.0.0.1\tlocalhost") && strstr(hosts, "10.213.0.7\tweb1") &&
	       strstr(hosts, "fd68:616e:6761::7\tweb1") && strstr(hosts, "10.213.0.1\thost.hangar.internal"),
	   "hosts file names localhost, the instance addresses and the host side");

	_cleanup_free_ char *dir = make_tempdir();
	_cleanup_free_ char *host_resolv = xasprintf("%s/resolv.conf", dir);
	const char *text =
	    "# host file\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.test\noptions edns0\n";
	write_file_at(AT_FDCWD, host_resolv, text, strlen(text), O_CREAT | O_TRUNC, 0644, &err);
	char *resolv = NULL;
	ok(network_resolv_conf_content(NULL, host_resolv, &resolv, &err) == 0 && resolv &&
	       !strstr(resolv, "127.0.0.53") && strstr(resolv, "nameserver 192.0.2.53") &&
	       strstr(resolv, "search example.test"),
	   "host resolv.conf copied without loopback nameservers");
	free(resolv);
	resolv = NULL;
	char *dns[] = {"198.51.100.1", NULL};
	struct network net = {.name = "x", .dns = dns};
	ok(network_resolv_conf_content(&net, host_resolv, &resolv, &err) == 0 && resolv &&
	       strstr(resolv, "nameserver 198.51.100.1") && !strstr(resolv, "192.0.2.53") &&
	       strstr(resolv, "search example.test"),
	   "network dns servers replace the host's");
	free(resolv);

	_cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
	_cleanup_free_ char *etc = xasprintf("%s/etc", rootfs);
	mkdir_p(etc, 0755, &err);
	ok(network_write_etc_files(rootfs, "web1", &net, &att, 1, &err) == 0, "etc files written");
	_cleanup_free_ char *hosts_path = xasprintf("%s/hosts", etc);
	_cleanup_free_ char *got = NULL;
	ok(read_file_at(AT_FDCWD, hosts_path, &got, NULL, &err) == 0 && strstr(got, "10.213.0.7\tweb1"),
	   "ROOTFS/etc/hosts has the instance address");
	_cleanup_free_ char *resolv_path = xasprintf("%s/resolv.conf", etc);
	unlink(resolv_path);
	_cleanup_free_ char *decoy = xasprintf("%s/decoy", dir);
	if (symlink(decoy, resolv_path) == 0) {
		struct stat st;
		ok(network_write_etc_files(rootfs, "web1", &net, &att, 1, &err) == 0 &&
		       access(decoy, F_OK) != 0 && lstat(resolv_path, &st) == 0 && S_ISREG(st.st_mode),
		   "a symlinked resolv.conf is replaced, its target never written");
	}
	struct hangar_error ignored;
	rm_rf(dir, &ignored);
}

/* Host and instance namespaces are children's private unshare()d ones. */
static int run_in_new_netns(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(77);
		int failures = fn(arg);
		fflush(stdout); /* _exit skips stdio: keep the inner diagnostics */
		_exit(failures);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static pid_t spawn_sleeper_netns(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	char c = 'n';
	if (read(p[0], &c, 1) != 1 || c != 'y') {
		close(p[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(p[0]);
	return pid;
}

struct attach_case {
	char *dir;
};

/* Runs in a fresh "host" namespace; exit status = number of failures. */
static int attach_case_body(void *arg)
{
	struct attach_case *c = arg;
	struct hangar_error err = {0};
	int failures = 0;
#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			failures++;                                                                          \
			printf("#   inner check failed: " __VA_ARGS__);                                      \
			printf(" (%s)\n", err.msg);                                                          \
		}                                                                                            \
	} while (0)
	struct network_options o = {
	    .subnet4 = "10.79.0.0/24", .subnet6 = "fd68:616e:6779::/64", .bridge = "hgtestbr0"};
	CHECK(network_create(c->dir, "unit", &o, NULL, &err) == 0, "create network");
	pid_t inst = spawn_sleeper_netns();
	CHECK(inst > 0, "instance namespace");
	if (failures)
		return failures;
	_cleanup_free_ char *nspath = xasprintf("/proc/%d/ns/net", (int)inst);
	struct port_mapping port;
	port_mapping_parse("18080:80", &port, &err);
	struct network_attach_request req = {.instance = "unit1",
					     .netns_fd = -1,
					     .netns_path = nspath,
					     .owner_pid = inst,
					     .ports = &port,
					     .n_ports = 1};
	struct network_attachment att;
	CHECK(network_attach(c->dir, "unit", &req, &att, &err) == 0, "attach");
	char b[64];
	CHECK(strcmp(att.ifname, "eth0") == 0, "ifname eth0 (%s)", att.ifname);
	CHECK(strcmp(net_prefix_format(&att.ipv4, true, b, sizeof(b)), "10.79.0.2/24") == 0,
	      "first address (%s)", b);

	struct nl_sock *host = NULL, *ns = NULL;
	int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	CHECK(nl_route_socket(-1, &host, &err) == 0 && nl_route_socket(nsfd, &ns, &err) == 0, "sockets");
	bool exists = false;
	CHECK(link_exists(host, att.host_ifname, &exists, &err) == 0 && exists, "host veth %s exists",
	      att.host_ifname);
	CHECK(link_exists(ns, "eth0", &exists, &err) == 0 && exists, "eth0 in instance namespace");
	CHECK(link_exists(host, "eth0", &exists, &err) == 0 && !exists, "no eth0 on the host side");

	struct network_attachment att2;
	CHECK(network_attach(c->dir, "unit", &req, &att2, &err) < 0 && err.code == HANGAR_E_EXISTS,
	      "second attach of the same instance refused");
	struct network_attach_request req2 = req;
	req2.instance = "unit2";
	CHECK(network_attach(c->dir, "unit", &req2, &att2, &err) < 0 &&
		  strstr(err.msg, "already published") && strstr(err.msg, "unit1"),
	      "port clash names the holder");
	CHECK(link_exists(ns, "eth1", &exists, &err) == 0 && !exists, "failed attach left no eth1 behind");
	struct lease_table t = {0};
	CHECK(lease_table_load(c->dir, "unit", &t, &err) == 0 && t.n == 1,
	      "failed attach left no lease (%zu)", t.n);
	lease_table_clear(&t);

	CHECK(network_detach(c->dir, "unit", "unit1", &err) == 0, "detach");
	CHECK(link_exists(host, att.host_ifname, &exists, &err) == 0 && !exists, "host veth gone");
	CHECK(link_exists(ns, "eth0", &exists, &err) == 0 && !exists, "eth0 gone");
	CHECK(network_detach(c->dir, "unit", "unit1", &err) == 0, "detach is idempotent");
	CHECK(lease_table_load(c->dir, "unit", &t, &err) == 0 && t.n == 0, "lease released");
	lease_table_clear(&t);
	CHECK(network_remove(c->dir, "unit", &err) == 0, "remove network");
	CHECK(link_exists(host, "hgtestbr0", &exists, &err) == 0 && !exists, "bridge removed");

	/* IPv6-only network, namespace passed as an fd, chosen ifname */
	struct network_options o6 = {
	    .no_ipv4 = true, .subnet6 = "fd68:616e:6780::/64", .bridge = "hgtestbr6"};
	CHECK(network_create(c->dir, "six", &o6, NULL, &err) == 0, "create IPv6-only network");
	struct network_attach_request r6 = {.instance = "v6only", .netns_fd = nsfd, .ifname = "net6"};
	struct network_attachment a6;
	CHECK(network_attach(c->dir, "six", &r6, &a6, &err) == 0, "attach by fd");
	CHECK(!a6.has_ipv4 && a6.has_ipv6 &&
		  strcmp(net_prefix_format(&a6.ipv6, true, b, sizeof(b)), "fd68:616e:6780::2/64") == 0,
	      "IPv6-only attachment (%s)", b);
	CHECK(link_exists(ns, "net6", &exists, &err) == 0 && exists, "requested interface name used");
	struct network_attachment *list = NULL;
	size_t n_list = 0;
	CHECK(network_get_attachments(c->dir, "v6only", &list, &n_list, &err) == 0 && n_list == 1 &&
		  strcmp(list[0].network, "six") == 0 && strcmp(list[0].ifname, "net6") == 0,
	      "get_attachments reports it");
	network_attachments_free(list, n_list);
	CHECK(network_list_attachments(c->dir, "six", &list, &n_list, &err) == 0 && n_list == 1 &&
		  strcmp(list[0].instance, "v6only") == 0,
	      "list_attachments of the network reports it");
	network_attachments_free(list, n_list);
	CHECK(network_list_attachments(c->dir, "nosuch", &list, &n_list, &err) < 0 &&
		  err.code == HANGAR_E_NOTFOUND,
	      "list_attachments of a missing network fails");
	struct network_gc_stats st;
	CHECK(network_gc(c->dir, &st, &err) == 0 && st.leases_released == 0 && st.links_deleted == 0,
	      "gc leaves a live attachment alone");
	CHECK(network_detach_all(c->dir, "v6only", &err) == 0, "detach_all");
	CHECK(link_exists(ns, "net6", &exists, &err) == 0 && !exists, "interface gone");
	CHECK(network_remove(c->dir, "six", &err) == 0, "remove IPv6-only network");
	network_attachment_clear(&a6);
	network_attachment_clear(&att);
	nl_route_socket_free(host);
	nl_route_socket_free(ns);
	close(nsfd);
	kill(inst, SIGKILL);
	waitpid(inst, NULL, 0);
	return failures;
#undef CHECK
}

static void test_attach_detach(void)
{
	if (geteuid() != 0) {
		skip("attach/detach needs root for network namespaces");
		return;
	}
	struct attach_case c = {.dir = make_tempdir()};
	fflush(stdout);
	int r = run_in_new_netns(attach_case_body, &c);
	if (r == 77)
		skip("unshare(CLONE_NEWNET) not permitted");
	else
		ok(r == 0, "attach/detach in private namespaces (%d inner failures)", r);
	struct hangar_error ignored;
	rm_rf(c.dir, &ignored);
	free(c.dir);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "tool") == 0)
		return tool_main(argc - 1, argv + 1);
	test_prefix();
	test_ports();
	test_network_definitions();
	test_ipam_concurrent();
	test_ipam_exhaustion();
	test_etc_files();
	test_attach_detach();
	return tap_done();
}
