/*
 * Fuzz target for the GTID-set parser and algebra. The input is read as one or two texts split
 * at the first '|' (a character neither grammar uses) and parsed in both flavours. Whatever
 * parses must print to a form that parses back to the same set and the same text, and the
 * algebra must keep its identities. Any broken promise aborts, which libFuzzer and the replay
 * driver both report as a crash.
 */
#include "mysql/gtid.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/require.h"

/* Parses text; on success checks the print/re-parse round trip and the one-set identities. */
static struct gtid_set *parse_and_check(enum gtid_flavor flavor, const char *text)
{
    char errmsg[256];
    struct gtid_set *set = NULL;
    if (gtid_set_parse(flavor, text, &set, errmsg, sizeof(errmsg)) != 0) {
        REQUIRE(set == NULL);
        REQUIRE(errmsg[0] != '\0');
        return NULL;
    }
    char *printed = gtid_set_to_string(set);
    REQUIRE(printed != NULL);
    struct gtid_set *again = NULL;
    if (gtid_set_parse(flavor, printed, &again, errmsg, sizeof(errmsg)) != 0) {
        fprintf(stderr, "fuzz_gtid: canonical \"%s\" does not parse: %s\n", printed, errmsg);
        abort();
    }
    REQUIRE(gtid_set_equal(set, again));
    char *printed_again = gtid_set_to_string(again);
    REQUIRE(printed_again != NULL && strcmp(printed, printed_again) == 0);
    REQUIRE(gtid_set_is_empty(set) == (printed[0] == '\0'));
    free(printed_again);
    free(printed);
    gtid_set_free(again);

    REQUIRE(gtid_set_contains(set, set));
    struct gtid_set *nothing = NULL;
    REQUIRE(gtid_set_difference(set, set, &nothing) == 0);
    REQUIRE(gtid_set_is_empty(nothing));
    struct gtid_set *same = NULL;
    REQUIRE(gtid_set_union(set, nothing, &same) == 0);
    REQUIRE(gtid_set_equal(same, set));
    REQUIRE(!gtid_set_last_server_differs(set, set, NULL, 0));
    gtid_set_free(same);
    gtid_set_free(nothing);
    return set;
}

static void check_pair(const struct gtid_set *a, const struct gtid_set *b)
{
    struct gtid_set *both = NULL;
    struct gtid_set *a_only = NULL;
    struct gtid_set *a_only_again = NULL;
    struct gtid_set *rebuilt = NULL;
    REQUIRE(gtid_set_union(a, b, &both) == 0);
    REQUIRE(gtid_set_contains(both, a));
    REQUIRE(gtid_set_contains(both, b));
    REQUIRE(gtid_set_difference(a, b, &a_only) == 0);
    REQUIRE(gtid_set_contains(a, a_only));
    /* a \ b is empty exactly when b holds all of a */
    REQUIRE(gtid_set_is_empty(a_only) == gtid_set_contains(b, a));
    /* (a ∪ b) \ b = a \ b */
    REQUIRE(gtid_set_difference(both, b, &a_only_again) == 0);
    REQUIRE(gtid_set_equal(a_only, a_only_again));
    /* (a \ b) ∪ b = a ∪ b */
    REQUIRE(gtid_set_union(a_only, b, &rebuilt) == 0);
    REQUIRE(gtid_set_equal(rebuilt, both));
    REQUIRE(gtid_set_equal(a, b) == (gtid_set_contains(a, b) && gtid_set_contains(b, a)));
    char *printed = gtid_set_to_string(both);
    REQUIRE(printed != NULL);
    free(printed);
    gtid_set_free(rebuilt);
    gtid_set_free(a_only_again);
    gtid_set_free(a_only);
    gtid_set_free(both);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    char *bar = strchr(text, '|');
    const char *second = "";
    if (bar != NULL) {
        *bar = '\0';
        second = bar + 1;
    }
    const enum gtid_flavor flavors[] = {GTID_FLAVOR_MYSQL, GTID_FLAVOR_MARIADB};
    for (size_t f = 0; f < sizeof(flavors) / sizeof(flavors[0]); f++) {
        struct gtid_set *a = parse_and_check(flavors[f], text);
        struct gtid_set *b = bar != NULL ? parse_and_check(flavors[f], second) : NULL;
        if (a != NULL && b != NULL) {
            check_pair(a, b);
            check_pair(b, a);
        }
        gtid_set_free(b);
        gtid_set_free(a);
    }
    free(text);
    return 0;
}
