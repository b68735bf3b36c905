/*
 * GTID sets: samples as MySQL and MariaDB print them, canonical printing, the algebra the
 * failover logic relies on (contains, errant difference, union) and every refusal.
 */
#include "mysql/gtid.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UUID_A "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define UUID_B "8a94f357-aab4-11df-86ab-c80aa9429562"
#define UUID_C "f2a4c1d0-0b1e-11ef-a5b6-0242ac120002"

static struct gtid_set *parse_ok(enum gtid_flavor flavor, const char *text)
{
    char errmsg[256];
    struct gtid_set *set = NULL;
    int rc = gtid_set_parse(flavor, text, &set, errmsg, sizeof(errmsg));
    ck_assert_msg(rc == 0, "parsing \"%s\" failed: %s", text, errmsg);
    ck_assert_ptr_nonnull(set);
    ck_assert_int_eq(gtid_set_flavor(set), flavor);
    return set;
}

/* Parses and checks the canonical text. */
static void assert_prints(enum gtid_flavor flavor, const char *text, const char *expected)
{
    struct gtid_set *set = parse_ok(flavor, text);
    char *printed = gtid_set_to_string(set);
    ck_assert_str_eq(printed, expected);
    /* the canonical form parses back to the same set and the same text */
    struct gtid_set *again = parse_ok(flavor, printed);
    ck_assert(gtid_set_equal(set, again));
    char *printed_again = gtid_set_to_string(again);
    ck_assert_str_eq(printed_again, printed);
    free(printed_again);
    free(printed);
    gtid_set_free(again);
    gtid_set_free(set);
}

/* Parsing must fail with -EINVAL and a message holding every fragment given. */
static void assert_refused(enum gtid_flavor flavor, const char *text, const char *fragment1,
                           const char *fragment2)
{
    char errmsg[256];
    struct gtid_set *set = (struct gtid_set *)&errmsg; /* must be reset to NULL */
    int rc = gtid_set_parse(flavor, text, &set, errmsg, sizeof(errmsg));
    ck_assert_msg(rc == -EINVAL, "\"%s\" was accepted (rc %d)", text, rc);
    ck_assert_ptr_null(set);
    ck_assert_msg(strstr(errmsg, fragment1) != NULL, "\"%s\": message \"%s\" lacks \"%s\"", text,
                  errmsg, fragment1);
    if (fragment2 != NULL) {
        ck_assert_msg(strstr(errmsg, fragment2) != NULL, "\"%s\": message \"%s\" lacks \"%s\"",
                      text, errmsg, fragment2);
    }
}

static void assert_difference(enum gtid_flavor flavor, const char *a_text, const char *b_text,
                              const char *expected)
{
    struct gtid_set *a = parse_ok(flavor, a_text);
    struct gtid_set *b = parse_ok(flavor, b_text);
    struct gtid_set *d = NULL;
    ck_assert_int_eq(gtid_set_difference(a, b, &d), 0);
    char *printed = gtid_set_to_string(d);
    ck_assert_msg(strcmp(printed, expected) == 0, "%s \\ %s = \"%s\", expected \"%s\"", a_text,
                  b_text, printed, expected);
    ck_assert(gtid_set_contains(a, d));
    free(printed);
    gtid_set_free(d);
    gtid_set_free(b);
    gtid_set_free(a);
}

static void assert_union(enum gtid_flavor flavor, const char *a_text, const char *b_text,
                         const char *expected)
{
    struct gtid_set *a = parse_ok(flavor, a_text);
    struct gtid_set *b = parse_ok(flavor, b_text);
    struct gtid_set *u = NULL;
    ck_assert_int_eq(gtid_set_union(a, b, &u), 0);
    char *printed = gtid_set_to_string(u);
    ck_assert_msg(strcmp(printed, expected) == 0, "%s + %s = \"%s\", expected \"%s\"", a_text,
                  b_text, printed, expected);
    ck_assert(gtid_set_contains(u, a));
    ck_assert(gtid_set_contains(u, b));
    free(printed);
    gtid_set_free(u);
    gtid_set_free(b);
    gtid_set_free(a);
}

static bool contains(enum gtid_flavor flavor, const char *a_text, const char *b_text)
{
    struct gtid_set *a = parse_ok(flavor, a_text);
    struct gtid_set *b = parse_ok(flavor, b_text);
    bool result = gtid_set_contains(a, b);
    gtid_set_free(b);
    gtid_set_free(a);
    return result;
}

/* ---- MySQL ---- */

START_TEST(mysql_single_uuid)
{
    /* @@gtid_executed of a server that wrote 5 transactions, upper case as older docs show it */
    assert_prints(GTID_FLAVOR_MYSQL, "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5", UUID_A ":1-5");
    assert_prints(GTID_FLAVOR_MYSQL, UUID_A ":23", UUID_A ":23");
    assert_prints(GTID_FLAVOR_MYSQL, "  " UUID_A ":1-9223372036854775807\n",
                  UUID_A ":1-9223372036854775807");
}
END_TEST

START_TEST(mysql_several_uuids_as_the_server_prints_them)
{
    /* Executed_Gtid_Set of SHOW REPLICA STATUS: ",\n" between uuids, not sorted */
    assert_prints(GTID_FLAVOR_MYSQL,
                  UUID_C ":1-1042,\n" UUID_A ":1-57,\n"
                         "8A94F357-AAB4-11DF-86AB-C80AA9429562:1-3",
                  UUID_A ":1-57," UUID_B ":1-3," UUID_C ":1-1042");
    assert_prints(GTID_FLAVOR_MYSQL, UUID_B ":1-3 ,\t\r\n " UUID_A ":4",
                  UUID_A ":4," UUID_B ":1-3");
}
END_TEST

START_TEST(mysql_gaps_and_merging)
{
    assert_prints(GTID_FLAVOR_MYSQL, UUID_A ":1-5:7-9", UUID_A ":1-5:7-9");
    assert_prints(GTID_FLAVOR_MYSQL, UUID_A ":7-9:1-5", UUID_A ":1-5:7-9");
    assert_prints(GTID_FLAVOR_MYSQL, UUID_A ":1-3," UUID_A ":4-6", UUID_A ":1-6");
    assert_prints(GTID_FLAVOR_MYSQL, UUID_A ":1-3:2-8:10:11:13", UUID_A ":1-8:10-11:13");
    assert_prints(GTID_FLAVOR_MYSQL, UUID_A ":5:5:5", UUID_A ":5");
}
END_TEST

START_TEST(mysql_tags)
{
    /* MySQL 8.3+: untagged intervals first, then tags sorted, case folded */
    assert_prints(GTID_FLAVOR_MYSQL, UUID_A ":1-5:Zeta:4:alpha:1-2:3",
                  UUID_A ":1-5:alpha:1-3:zeta:4");
    assert_prints(GTID_FLAVOR_MYSQL, UUID_B ":_t9:1," UUID_A ":x:2",
                  UUID_A ":x:2," UUID_B ":_t9:1");
    struct gtid_set *tagged = parse_ok(GTID_FLAVOR_MYSQL, UUID_A ":t:1-5");
    struct gtid_set *untagged = parse_ok(GTID_FLAVOR_MYSQL, UUID_A ":1-5");
    ck_assert(!gtid_set_contains(tagged, untagged));
    ck_assert(!gtid_set_contains(untagged, tagged));
    gtid_set_free(untagged);
    gtid_set_free(tagged);
}
END_TEST

START_TEST(mysql_empty)
{
    assert_prints(GTID_FLAVOR_MYSQL, "", "");
    assert_prints(GTID_FLAVOR_MYSQL, " \n ", "");
    struct gtid_set *empty = parse_ok(GTID_FLAVOR_MYSQL, "");
    ck_assert(gtid_set_is_empty(empty));
    struct gtid_set *fresh = gtid_set_new(GTID_FLAVOR_MYSQL);
    ck_assert(gtid_set_equal(empty, fresh));
    gtid_set_free(fresh);
    gtid_set_free(empty);
    gtid_set_free(NULL);
}
END_TEST

START_TEST(mysql_contains)
{
    ck_assert(contains(GTID_FLAVOR_MYSQL, UUID_A ":1-10", UUID_A ":3-5"));
    ck_assert(contains(GTID_FLAVOR_MYSQL, UUID_A ":1-10," UUID_B ":1", UUID_A ":1-10"));
    ck_assert(contains(GTID_FLAVOR_MYSQL, UUID_A ":1", ""));
    ck_assert(contains(GTID_FLAVOR_MYSQL, "", ""));
    ck_assert(!contains(GTID_FLAVOR_MYSQL, UUID_A ":1-5:7-9", UUID_A ":5-7"));
    ck_assert(!contains(GTID_FLAVOR_MYSQL, UUID_A ":1-10", UUID_A ":1-11"));
    ck_assert(!contains(GTID_FLAVOR_MYSQL, UUID_A ":1-10", UUID_B ":1"));
    ck_assert(!contains(GTID_FLAVOR_MYSQL, "", UUID_B ":1"));
}
END_TEST

START_TEST(mysql_difference)
{
    /* the old writer wrote 11..12 after the new one last received from it, plus a stray uuid */
    assert_difference(GTID_FLAVOR_MYSQL, UUID_A ":1-12," UUID_C ":1", UUID_A ":1-10",
                      UUID_A ":11-12," UUID_C ":1");
    assert_difference(GTID_FLAVOR_MYSQL, UUID_A ":1-20", UUID_A ":3-5:8:15-30",
                      UUID_A ":1-2:6-7:9-14");
    assert_difference(GTID_FLAVOR_MYSQL, UUID_A ":1-20", UUID_A ":1-20," UUID_B ":1", "");
    assert_difference(GTID_FLAVOR_MYSQL, UUID_A ":1-5:t:1-5", UUID_A ":t:2", UUID_A ":1-5:t:1:3-5");
}
END_TEST

START_TEST(mysql_union)
{
    assert_union(GTID_FLAVOR_MYSQL, UUID_A ":1-5", UUID_A ":6-9:12," UUID_B ":1",
                 UUID_A ":1-9:12," UUID_B ":1");
    assert_union(GTID_FLAVOR_MYSQL, "", UUID_B ":1", UUID_B ":1");
    assert_union(GTID_FLAVOR_MYSQL, UUID_A ":3-4:9", UUID_A ":1-10", UUID_A ":1-10");
}
END_TEST

START_TEST(mysql_refusals)
{
    const enum gtid_flavor f = GTID_FLAVOR_MYSQL;
    assert_refused(f, "3e11fa47-71ca-11e1-9e33:1-5", "bad uuid", "member 1");
    assert_refused(f, "3e11fa47x71ca-11e1-9e33-c80aa9429562:1", "bad uuid", "offset 0");
    assert_refused(f, "3e11fa47-71ca-11e1-9e33-c80aa942956g:1", "not a hex digit", NULL);
    assert_refused(f, UUID_A ":1," UUID_B "1:1", "expected ':'", "member 2");
    assert_refused(f, UUID_A, "no interval", NULL);
    assert_refused(f, UUID_A ":0", "number 0", NULL);
    assert_refused(f, UUID_A ":0-4", "number 0", NULL);
    assert_refused(f, UUID_A ":9223372036854775808", "larger than", NULL);
    assert_refused(f, UUID_A ":1-99999999999999999999999", "larger than", NULL);
    assert_refused(f, UUID_A ":9-3", "backwards", NULL);
    assert_refused(f, UUID_A ":1,," UUID_B ":1", "empty member", "member 2");
    assert_refused(f, UUID_A ":1,", "empty member", "member 2");
    assert_refused(f, "," UUID_A ":1", "empty member", "member 1");
    assert_refused(f, UUID_A ":1::2", "empty interval", NULL);
    assert_refused(f, UUID_A ":1:", "empty interval", NULL);
    assert_refused(f, UUID_A ":1-", "missing", NULL);
    assert_refused(f, UUID_A ":1-2-3", "unexpected character", NULL);
    assert_refused(f, UUID_A ":+1", "expected an interval or a tag", NULL);
    assert_refused(f, UUID_A ":1 :2", "unexpected character", NULL);
    assert_refused(f, UUID_A ":ta-g:1", "bad tag", NULL);
    assert_refused(f, UUID_A ":a23456789012345678901234567890123:1", "longer than 32", NULL);
    assert_refused(f, UUID_A ":tag", "has no interval", NULL);
    assert_refused(f, UUID_A ":1:t1:t2:1", "has no interval", NULL);
    /* offsets are bytes from the start of the text */
    assert_refused(f, UUID_A ":1,\n  " UUID_B ":0", "member 2", "offset 42");
}
END_TEST

START_TEST(mysql_interval_cap)
{
    /* 65536 intervals are fine, one more is refused, and the refusal is fast (linear) */
    size_t size = 40 + (GTID_SET_MAX_INTERVALS + 1) * 10 + 1;
    char *text = malloc(size);
    size_t used = (size_t)snprintf(text, size, "%s", UUID_A);
    for (unsigned i = 1; i <= GTID_SET_MAX_INTERVALS; i++) {
        used += (size_t)snprintf(text + used, size - used, ":%u", 2u * i);
    }
    struct gtid_set *set = parse_ok(GTID_FLAVOR_MYSQL, text);
    gtid_set_free(set);
    snprintf(text + used, size - used, ":%u", 2u * GTID_SET_MAX_INTERVALS + 2);
    assert_refused(GTID_FLAVOR_MYSQL, text, "more than 65536 intervals", NULL);
    free(text);
}
END_TEST

/* ---- MariaDB ---- */

START_TEST(mariadb_positions)
{
    assert_prints(GTID_FLAVOR_MARIADB, "0-1-100", "0-1-100");
    assert_prints(GTID_FLAVOR_MARIADB, "0-1-100,1-2-50", "0-1-100,1-2-50");
    assert_prints(GTID_FLAVOR_MARIADB, "1-2-50, 0-1-100", "0-1-100,1-2-50");
    assert_prints(GTID_FLAVOR_MARIADB, "", "");
    assert_prints(GTID_FLAVOR_MARIADB, "4294967295-4294967295-18446744073709551615",
                  "4294967295-4294967295-18446744073709551615");
    /* the extended form: a range that does not start at 1, gaps, one transaction */
    assert_prints(GTID_FLAVOR_MARIADB, "0-1-101..150", "0-1-101..150");
    assert_prints(GTID_FLAVOR_MARIADB, "0-1-1..150", "0-1-150");
    assert_prints(GTID_FLAVOR_MARIADB, "0-1-49:61..100:70..120", "0-1-49:61..120");
    assert_prints(GTID_FLAVOR_MARIADB, "0-1-49:50..60", "0-1-60");
    assert_prints(GTID_FLAVOR_MARIADB, "3-7-9..9", "3-7-9..9");
    struct gtid_set *empty = parse_ok(GTID_FLAVOR_MARIADB, "");
    ck_assert(gtid_set_is_empty(empty));
    gtid_set_free(empty);
}
END_TEST

START_TEST(mariadb_contains)
{
    const enum gtid_flavor f = GTID_FLAVOR_MARIADB;
    ck_assert(contains(f, "0-1-100,1-2-50", "0-1-100"));
    ck_assert(contains(f, "0-1-100,1-2-50", "0-2-99,1-2-50"));
    ck_assert(contains(f, "0-1-100", ""));
    ck_assert(!contains(f, "0-1-100", "0-1-101"));
    ck_assert(!contains(f, "0-1-100", "0-1-100,1-2-1"));
    ck_assert(!contains(f, "", "0-1-1"));
    /* server ids are not part of the identity of a transaction */
    ck_assert(contains(f, "0-1-100", "0-2-100"));
}
END_TEST

START_TEST(mariadb_errant_difference)
{
    const enum gtid_flavor f = GTID_FLAVOR_MARIADB;
    /* the old writer has 101..105 of domain 0 that the new one never received */
    assert_difference(f, "0-1-105,1-2-40", "0-1-100,1-2-40", "0-1-101..105");
    /* nothing errant: the new writer is ahead */
    assert_difference(f, "0-1-100,1-2-40", "0-1-105,1-2-41", "");
    /* a domain the new writer lacks comes whole */
    assert_difference(f, "0-1-100,2-3-7", "0-1-100", "2-3-7");
    assert_difference(f, "0-1-10", "0-1-5..6", "0-1-4:7..10");
}
END_TEST

START_TEST(mariadb_union)
{
    const enum gtid_flavor f = GTID_FLAVOR_MARIADB;
    assert_union(f, "0-1-100,1-2-40", "0-3-120,2-2-5", "0-3-120,1-2-40,2-2-5");
    assert_union(f, "0-1-100", "0-3-90", "0-1-100");
    assert_union(f, "0-1-100", "0-3-100", "0-1-100");
    assert_union(f, "0-1-101..105", "0-1-100", "0-1-105");
}
END_TEST

START_TEST(mariadb_diverged_histories)
{
    struct gtid_set *old_writer = parse_ok(GTID_FLAVOR_MARIADB, "0-1-100,1-2-40");
    struct gtid_set *new_writer = parse_ok(GTID_FLAVOR_MARIADB, "0-3-100,1-2-40");
    struct gtid_set *behind = parse_ok(GTID_FLAVOR_MARIADB, "0-3-99,1-2-40");
    char detail[160];
    ck_assert(gtid_set_equal(old_writer, new_writer));
    ck_assert(gtid_set_last_server_differs(old_writer, new_writer, detail, sizeof(detail)));
    ck_assert_msg(strstr(detail, "0-1-100") && strstr(detail, "0-3-100"), "%s", detail);
    ck_assert(!gtid_set_last_server_differs(old_writer, behind, NULL, 0));
    ck_assert(!gtid_set_last_server_differs(old_writer, old_writer, NULL, 0));
    gtid_set_free(behind);
    gtid_set_free(new_writer);
    gtid_set_free(old_writer);
}
END_TEST

START_TEST(mariadb_refusals)
{
    const enum gtid_flavor f = GTID_FLAVOR_MARIADB;
    assert_refused(f, "0-1", "expected '-' after the server id", "member 1");
    assert_refused(f, "0", "expected '-' after the domain id", NULL);
    assert_refused(f, "0-1-", "seq is missing", NULL);
    assert_refused(f, "0-1-0", "number 0", NULL);
    assert_refused(f, "0-1-0..4", "number 0", NULL);
    assert_refused(f, "0-1-18446744073709551616", "larger than", NULL);
    assert_refused(f, "4294967296-1-1", "domain id", "larger than");
    assert_refused(f, "0-4294967296-1", "server id", "larger than");
    assert_refused(f, "0-1-9..5", "backwards", NULL);
    assert_refused(f, "0-1-5:7", "bare seq", NULL);
    assert_refused(f, "0-1-5:7..", "range end", NULL);
    assert_refused(f, "0-1-5x", "unexpected character", NULL);
    assert_refused(f, "0-1-5.6", "unexpected character", NULL);
    assert_refused(f, "-1-5", "domain id", NULL);
    assert_refused(f, "0-1-100,,1-2-3", "empty member", "member 2");
    assert_refused(f, "0-1-100,", "empty member", NULL);
    assert_refused(f, "0-1-100, 1-2-3,0-2-7", "domain 0 already given by member 1", "member 3");
    assert_refused(f, "0-1-100, 1-2-3,0-2-7", "offset 15", "gtid_binlog_pos");
    assert_refused(f, UUID_A ":1", "member 1", NULL);
}
END_TEST

START_TEST(mariadb_interval_cap)
{
    size_t size = (GTID_SET_MAX_INTERVALS + 1) * 24 + 1;
    char *text = malloc(size);
    size_t used = 0;
    for (unsigned i = 0; i <= GTID_SET_MAX_INTERVALS; i++) {
        used += (size_t)snprintf(text + used, size - used, "%s%u-1-5", i ? "," : "", i);
    }
    assert_refused(GTID_FLAVOR_MARIADB, text, "more than 65536 intervals", "member 65537");
    free(text);
}
END_TEST

/* ---- both ---- */

START_TEST(flavour_mismatch)
{
    struct gtid_set *mysql = parse_ok(GTID_FLAVOR_MYSQL, UUID_A ":1");
    struct gtid_set *mariadb = parse_ok(GTID_FLAVOR_MARIADB, "0-1-1");
    struct gtid_set *out = (struct gtid_set *)mysql;
    ck_assert_int_eq(gtid_set_difference(mysql, mariadb, &out), -EINVAL);
    ck_assert_ptr_null(out);
    out = (struct gtid_set *)mysql;
    ck_assert_int_eq(gtid_set_union(mariadb, mysql, &out), -EINVAL);
    ck_assert_ptr_null(out);
    ck_assert(!gtid_set_contains(mysql, mariadb));
    ck_assert(!gtid_set_equal(mysql, mariadb));
    struct gtid_set *empty_mysql = gtid_set_new(GTID_FLAVOR_MYSQL);
    struct gtid_set *empty_mariadb = gtid_set_new(GTID_FLAVOR_MARIADB);
    ck_assert(!gtid_set_equal(empty_mysql, empty_mariadb));
    ck_assert(!gtid_set_contains(empty_mysql, empty_mariadb));
    ck_assert(!gtid_set_last_server_differs(mysql, mariadb, NULL, 0));
    gtid_set_free(empty_mariadb);
    gtid_set_free(empty_mysql);
    gtid_set_free(mariadb);
    gtid_set_free(mysql);
}
END_TEST

START_TEST(errmsg_is_optional_and_truncated)
{
    struct gtid_set *set = NULL;
    ck_assert_int_eq(gtid_set_parse(GTID_FLAVOR_MARIADB, "0-1-0", &set, NULL, 0), -EINVAL);
    ck_assert_ptr_null(set);
    char tiny[8];
    ck_assert_int_eq(gtid_set_parse(GTID_FLAVOR_MARIADB, "0-1-0", &set, tiny, sizeof(tiny)),
                     -EINVAL);
    ck_assert_uint_eq(strlen(tiny), sizeof(tiny) - 1);
    /* a long, unprintable member is shown shortened and made printable */
    char errmsg[256];
    ck_assert_int_eq(gtid_set_parse(GTID_FLAVOR_MARIADB,
                                    "0-1-\x01\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                                    &set, errmsg, sizeof(errmsg)),
                     -EINVAL);
    ck_assert_msg(strstr(errmsg, "\"0-1-??xxx") != NULL && strstr(errmsg, "...\"") != NULL, "%s",
                  errmsg);
}
END_TEST

static Suite *gtid_suite(void)
{
    Suite *suite = suite_create("gtid");
    TCase *mysql = tcase_create("mysql");
    tcase_add_test(mysql, mysql_single_uuid);
    tcase_add_test(mysql, mysql_several_uuids_as_the_server_prints_them);
    tcase_add_test(mysql, mysql_gaps_and_merging);
    tcase_add_test(mysql, mysql_tags);
    tcase_add_test(mysql, mysql_empty);
    tcase_add_test(mysql, mysql_contains);
    tcase_add_test(mysql, mysql_difference);
    tcase_add_test(mysql, mysql_union);
    tcase_add_test(mysql, mysql_refusals);
    tcase_add_test(mysql, mysql_interval_cap);
    suite_add_tcase(suite, mysql);
    TCase *mariadb = tcase_create("mariadb");
    tcase_add_test(mariadb, mariadb_positions);
    tcase_add_test(mariadb, mariadb_contains);
    tcase_add_test(mariadb, mariadb_errant_difference);
    tcase_add_test(mariadb, mariadb_union);
    tcase_add_test(mariadb, mariadb_diverged_histories);
    tcase_add_test(mariadb, mariadb_refusals);
    tcase_add_test(mariadb, mariadb_interval_cap);
    suite_add_tcase(suite, mariadb);
    TCase *both = tcase_create("both");
    tcase_add_test(both, flavour_mismatch);
    tcase_add_test(both, errmsg_is_optional_and_truncated);
    suite_add_tcase(suite, both);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(gtid_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
