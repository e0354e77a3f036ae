/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for config/: any input must either be rejected with a
 * message or parse into a struct that serialises, re-parses and serialises
 * to the same text (parse → to_json → parse is the identity).  Build and run
 * with `make fuzz` (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/oci.h"

static void check_round_trip(const struct oci_config *cfg)
{
	struct hangar_error err = {0};
	struct oci_config *again = NULL;
	char *json = oci_config_to_json(cfg);

	if (oci_config_parse(json, &again, &err) < 0) {
		fprintf(stderr, "to_json output does not parse: %s\n%s\n", err.msg, json);
		abort();
	}
	if (!oci_config_equal(cfg, again)) {
		fprintf(stderr, "round trip changed the parsed struct:\n%s\n", json);
		abort();
	}
	char *json2 = oci_config_to_json(again);
	if (strcmp(json, json2) != 0) {
		fprintf(stderr, "round trip changed the config:\n%s\n---\n%s\n", json, json2);
		abort();
	}
	free(json2);
	free(json);
	oci_config_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hangar_error err = {0};
	struct oci_config *cfg = NULL;
	struct oci_process process;
	struct oci_resources resources;
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (oci_config_parse(text, &cfg, &err) == 0) {
		check_round_trip(cfg);
		oci_config_free(cfg);
	} else if (err.msg[0] == '\0' || err.code != HANGAR_E_CONFIG) {
		fprintf(stderr, "rejected without a config error message\n");
		abort();
	}
	if (oci_process_parse(text, &process, &err) == 0) {
		struct oci_process again;
		char *json = oci_process_to_json(&process);
		if (oci_process_parse(json, &again, &err) < 0 || !oci_process_equal(&process, &again)) {
			fprintf(stderr, "process round trip failed (%s):\n%s\n", err.msg, json);
			abort();
		}
		free(json);
		oci_process_clear(&again);
		oci_process_clear(&process);
	}
	if (oci_resources_parse(text, &resources, &err) == 0) {
		struct oci_resources again;
		char *json = oci_resources_to_json(&resources);
		if (oci_resources_parse(json, &again, &err) < 0 || !oci_resources_equal(&resources, &again)) {
			fprintf(stderr, "resources round trip failed (%s):\n%s\n", err.msg, json);
			abort();
		}
		free(json);
		oci_resources_clear(&again);
		oci_resources_clear(&resources);
	}
	free(text);
	return 0;
}
