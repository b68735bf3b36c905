/* Unit tests of mysql/dialect.c and mysql/rows.c: the statements each flavour is sent and the
 * parsing of what it answers. The MySQL dialect is only tested here (no MySQL server on
 * Debian), so every MySQL spelling we rely on is asserted literally. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mysql/dialect.h"
#include "mysql/rows.h"

static struct mysql_dialect dialect_of(const char *version)
{
    struct mysql_dialect d;
    char err[256];
    ck_assert_int_eq(mysql_dialect_from_version(version, &d, err, sizeof(err)), 0);
    return d;
}

START_TEST(test_version_flavours)
{
    struct mysql_dialect d = dialect_of("10.11.19-MariaDB-0+deb12u1");
    ck_assert_int_eq(d.flavor, MYSQL_FLAVOR_MARIADB);
    ck_assert_uint_eq(d.major, 10);
    ck_assert_uint_eq(d.minor, 11);
    ck_assert_uint_eq(d.patch, 19);
    ck_assert(!mysql_dialect_has_super_read_only(&d));

    d = dialect_of("5.5.5-10.6.16-MariaDB-log");
    ck_assert_int_eq(d.flavor, MYSQL_FLAVOR_MARIADB);
    ck_assert_uint_eq(d.major, 10);
    ck_assert_uint_eq(d.minor, 6);

    d = dialect_of("11.4.2-MariaDB");
    ck_assert_int_eq(d.flavor, MYSQL_FLAVOR_MARIADB);

    d = dialect_of("8.0.36-0ubuntu0.22.04.1");
    ck_assert_int_eq(d.flavor, MYSQL_FLAVOR_MYSQL);
    ck_assert(mysql_dialect_has_super_read_only(&d));
    ck_assert_uint_eq(d.patch, 36);

    d = dialect_of("8.4.2");
    ck_assert_int_eq(d.flavor, MYSQL_FLAVOR_MYSQL);
    ck_assert_str_eq(mysql_flavor_name(d.flavor), "MySQL");
}
END_TEST

START_TEST(test_version_refused)
{
    struct mysql_dialect d;
    char err[256];
    ck_assert_int_eq(mysql_dialect_from_version("5.7.44-log", &d, err, sizeof(err)), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(err, "5.7.44"));
    ck_assert_int_eq(mysql_dialect_from_version("10.3.39-MariaDB", &d, err, sizeof(err)), -ENOTSUP);
    ck_assert_int_eq(mysql_dialect_from_version("banana", &d, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(mysql_dialect_from_version("8.0", &d, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(mysql_dialect_from_version(NULL, &d, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_fixed_statements)
{
    struct mysql_dialect maria = dialect_of("10.11.6-MariaDB");
    struct mysql_dialect my800 = dialect_of("8.0.20");
    struct mysql_dialect my8022 = dialect_of("8.0.22");
    struct mysql_dialect my84 = dialect_of("8.4.0");

    ck_assert_str_eq(mysql_dialect_show_replica_status(&maria), "SHOW SLAVE STATUS");
    ck_assert_str_eq(mysql_dialect_show_replica_status(&my800), "SHOW SLAVE STATUS");
    ck_assert_str_eq(mysql_dialect_show_replica_status(&my8022), "SHOW REPLICA STATUS");
    ck_assert_str_eq(mysql_dialect_show_replica_status(&my84), "SHOW REPLICA STATUS");
    ck_assert_str_eq(mysql_dialect_start_replica(&maria), "START SLAVE");
    ck_assert_str_eq(mysql_dialect_start_replica(&my84), "START REPLICA");
    ck_assert_str_eq(mysql_dialect_stop_replica(&maria), "STOP SLAVE");
    ck_assert_str_eq(mysql_dialect_stop_replica(&my84), "STOP REPLICA");

    ck_assert_str_eq(mysql_dialect_fence_statement(&maria), "SET GLOBAL read_only=ON");
    ck_assert_str_eq(mysql_dialect_fence_statement(&my84), "SET GLOBAL super_read_only=ON");
    ck_assert_str_eq(mysql_dialect_unfence_statement(&my84), "SET GLOBAL read_only=OFF");
    ck_assert_ptr_nonnull(strstr(mysql_dialect_gtid_query(&maria), "gtid_current_pos"));
    ck_assert_ptr_nonnull(strstr(mysql_dialect_gtid_query(&maria), "gtid_slave_pos"));
    ck_assert_ptr_nonnull(strstr(mysql_dialect_gtid_query(&my84), "gtid_executed"));
    ck_assert_ptr_nonnull(strstr(mysql_dialect_read_only_query(&my84), "super_read_only"));
    ck_assert_ptr_null(strstr(mysql_dialect_read_only_query(&maria), "@@GLOBAL.super_read_only"));
}
END_TEST

START_TEST(test_quote)
{
    struct mysql_dialect d = dialect_of("10.11.6-MariaDB");
    char out[64];
    ck_assert_int_eq(mysql_dialect_quote(&d, "plain", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "'plain'");
    ck_assert_int_eq(mysql_dialect_quote(&d, "o'hara\\x\n\"", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "'o\\'hara\\\\x\\n\\\"'");
    ck_assert_int_eq(mysql_dialect_quote(&d, "a\032b\r", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "'a\\Zb\\r'");
    ck_assert_int_eq(mysql_dialect_quote(&d, "", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "''");

    d.no_backslash_escapes = true;
    ck_assert_int_eq(mysql_dialect_quote(&d, "o'hara\\x", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "'o''hara\\x'");

    /* Exactly fitting and one byte short. */
    ck_assert_int_eq(mysql_dialect_quote(&d, "abc", out, 6), 0);
    ck_assert_str_eq(out, "'abc'");
    ck_assert_int_eq(mysql_dialect_quote(&d, "abc", out, 5), -ENOSPC);
    ck_assert_int_eq(mysql_dialect_quote(&d, "''''", out, 9), -ENOSPC);
}
END_TEST

START_TEST(test_change_source)
{
    struct mysql_dialect maria = dialect_of("10.11.6-MariaDB");
    struct mysql_dialect my8022 = dialect_of("8.0.22");
    struct mysql_dialect my84 = dialect_of("8.4.0");
    struct mysql_source src = {
        .host = "db2.example", .port = 3307, .user = "repl", .password = "s3'cret"};
    char out[1024], err[256];

    ck_assert_int_eq(mysql_dialect_change_source(&maria, &src, out, sizeof(out), err, sizeof(err)),
                     0);
    ck_assert_str_eq(out, "CHANGE MASTER TO MASTER_HOST='db2.example', MASTER_PORT=3307, "
                          "MASTER_USER='repl', MASTER_PASSWORD='s3\\'cret', "
                          "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1");

    ck_assert_int_eq(mysql_dialect_change_source(&my84, &src, out, sizeof(out), err, sizeof(err)),
                     0);
    ck_assert_str_eq(out, "CHANGE REPLICATION SOURCE TO SOURCE_HOST='db2.example', "
                          "SOURCE_PORT=3307, SOURCE_USER='repl', SOURCE_PASSWORD='s3\\'cret', "
                          "SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, "
                          "GET_SOURCE_PUBLIC_KEY=1");

    /* 8.0.22 still needs the old spelling: CHANGE REPLICATION SOURCE came in 8.0.23. */
    ck_assert_int_eq(mysql_dialect_change_source(&my8022, &src, out, sizeof(out), err, sizeof(err)),
                     0);
    ck_assert_ptr_nonnull(strstr(out, "CHANGE MASTER TO MASTER_HOST='db2.example'"));
    ck_assert_ptr_nonnull(strstr(out, "MASTER_AUTO_POSITION=1"));

    /* Errors never show the password. */
    src.port = 0;
    ck_assert_int_eq(mysql_dialect_change_source(&maria, &src, out, sizeof(out), err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_null(strstr(err, "s3"));
    src.port = 3307;
    src.user = "";
    ck_assert_int_eq(mysql_dialect_change_source(&maria, &src, out, sizeof(out), err, sizeof(err)),
                     -EINVAL);
    src.user = "repl";
    src.host = "";
    ck_assert_int_eq(mysql_dialect_change_source(&maria, &src, out, sizeof(out), err, sizeof(err)),
                     -EINVAL);
    src.host = "h";
    ck_assert_int_eq(mysql_dialect_change_source(&maria, &src, out, 40, err, sizeof(err)), -ENOSPC);
    ck_assert_ptr_null(strstr(err, "s3"));
    ck_assert_ptr_null(strstr(out, "s3"));
}
END_TEST

START_TEST(test_wait)
{
    struct mysql_dialect maria = dialect_of("10.11.6-MariaDB");
    struct mysql_dialect my84 = dialect_of("8.4.0");
    char out[256];
    ck_assert_int_eq(mysql_dialect_wait_gtid(&maria, "0-1-5,1-2-7", 1500, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "SELECT MASTER_GTID_WAIT('0-1-5,1-2-7', 1.500) AS reached");
    ck_assert_int_eq(mysql_dialect_wait_gtid(&maria, "0-1-5", 50, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "SELECT MASTER_GTID_WAIT('0-1-5', 0.050) AS reached");
    ck_assert_int_eq(mysql_dialect_wait_gtid(&my84, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
                                             1500, out, sizeof(out)),
                     0);
    ck_assert_str_eq(out, "SELECT WAIT_FOR_EXECUTED_GTID_SET("
                          "'3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5', 2) AS reached");
    ck_assert_int_eq(mysql_dialect_wait_gtid(&maria, "0-1-5", 50, out, 20), -ENOSPC);

    ck_assert_int_eq(mysql_dialect_wait_result(&maria, "0"), 0);
    ck_assert_int_eq(mysql_dialect_wait_result(&maria, "-1"), -ETIMEDOUT);
    ck_assert_int_eq(mysql_dialect_wait_result(&maria, NULL), -EIO);
    ck_assert_int_eq(mysql_dialect_wait_result(&my84, "0"), 0);
    ck_assert_int_eq(mysql_dialect_wait_result(&my84, "1"), -ETIMEDOUT);
    ck_assert_int_eq(mysql_dialect_wait_result(&my84, "2"), -EIO);
    ck_assert_int_eq(mysql_dialect_wait_result(&my84, "-1"), -EIO);
}
END_TEST

START_TEST(test_protected_threads)
{
    /* MariaDB replica threads and a binlog dump to a replica. */
    ck_assert(mysql_dialect_thread_is_protected("system user", "Slave_IO", "mmcoord"));
    ck_assert(mysql_dialect_thread_is_protected("system user", "Slave_SQL", "mmcoord"));
    ck_assert(mysql_dialect_thread_is_protected("repl", "Binlog Dump", "mmcoord"));
    /* MySQL: replica threads run as system user with command Connect/Query. */
    ck_assert(mysql_dialect_thread_is_protected("system user", "Connect", "mmcoord"));
    ck_assert(mysql_dialect_thread_is_protected("repl", "Binlog Dump GTID", "mmcoord"));
    ck_assert(mysql_dialect_thread_is_protected("event_scheduler", "Daemon", "mmcoord"));
    ck_assert(mysql_dialect_thread_is_protected("mmcoord", "Sleep", "mmcoord"));
    /* Clients. */
    ck_assert(!mysql_dialect_thread_is_protected("app", "Sleep", "mmcoord"));
    ck_assert(!mysql_dialect_thread_is_protected("app", "Query", "mmcoord"));
    ck_assert(!mysql_dialect_thread_is_protected("root", "Query", "mmcoord"));
    ck_assert(!mysql_dialect_thread_is_protected("unauthenticated user", "Connect", "mmcoord"));
    ck_assert(!mysql_dialect_thread_is_protected(NULL, NULL, ""));

    char out[64];
    ck_assert_int_eq(mysql_dialect_kill(42, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "KILL CONNECTION 42");
}
END_TEST

static struct mysql_rows *table(unsigned n, const char *const *names, const char *const *values)
{
    struct mysql_rows *rows = mysql_rows_new(n, names);
    ck_assert_ptr_nonnull(rows);
    if (values != NULL) {
        ck_assert_int_eq(mysql_rows_add(rows, values), 0);
    }
    return rows;
}

START_TEST(test_replica_status_mariadb)
{
    static const char *const names[] = {
        "Slave_IO_State",   "Master_Host",       "Master_User",           "Master_Port",
        "Slave_IO_Running", "Slave_SQL_Running", "Last_IO_Errno",         "Last_IO_Error",
        "Last_SQL_Errno",   "Last_SQL_Error",    "Seconds_Behind_Master", "Using_Gtid",
        "Gtid_IO_Pos",      "Gtid_Slave_Pos"};
    static const char *const values[] = {"Waiting for master to send event",
                                         "127.0.0.1",
                                         "repl",
                                         "33061",
                                         "Yes",
                                         "Yes",
                                         "0",
                                         "",
                                         "0",
                                         "",
                                         "3",
                                         "Slave_Pos",
                                         "1-1-10,2-2-5",
                                         "1-1-9,2-2-5"};
    struct mysql_rows *rows = table(14, names, values);
    struct mysql_replica_status st;
    char err[256];
    ck_assert_int_eq(mysql_dialect_parse_replica_status(rows, &st, err, sizeof(err)), 0);
    ck_assert(st.configured);
    ck_assert_str_eq(st.source_host, "127.0.0.1");
    ck_assert_uint_eq(st.source_port, 33061);
    ck_assert_int_eq(st.io_state, MYSQL_IO_RUNNING);
    ck_assert(st.sql_running);
    ck_assert_int_eq(st.lag_seconds, 3);
    ck_assert(st.auto_position);
    ck_assert_str_eq(st.received_gtid, "1-1-10,2-2-5");
    ck_assert_str_eq(st.applied_gtid, "1-1-9,2-2-5");
    mysql_replica_status_clear(&st);
    mysql_rows_free(rows);

    /* A broken IO thread: Connecting, NULL lag, an error. */
    static const char *const broken[] = {
        "",           "10.0.0.9",
        "repl",       "3306",
        "Connecting", "No",
        "2003",       "error connecting to master 'repl@10.0.0.9:3306'",
        "1062",       "Duplicate entry",
        NULL,         "No",
        "",           ""};
    rows = table(14, names, broken);
    ck_assert_int_eq(mysql_dialect_parse_replica_status(rows, &st, err, sizeof(err)), 0);
    ck_assert_int_eq(st.io_state, MYSQL_IO_CONNECTING);
    ck_assert(!st.sql_running);
    ck_assert_int_eq(st.lag_seconds, -1);
    ck_assert(!st.auto_position);
    ck_assert_uint_eq(st.last_io_errno, 2003);
    ck_assert_uint_eq(st.last_sql_errno, 1062);
    ck_assert_str_eq(st.last_sql_error, "Duplicate entry");
    mysql_replica_status_clear(&st);
    mysql_rows_free(rows);

    static const char *const preparing[] = {"", "h", "repl", "3306", "Preparing", "Yes", "0",
                                            "", "0", "",     NULL,   "Slave_Pos", "",    ""};
    rows = table(14, names, preparing);
    ck_assert_int_eq(mysql_dialect_parse_replica_status(rows, &st, err, sizeof(err)), 0);
    ck_assert_int_eq(st.io_state, MYSQL_IO_CONNECTING);
    mysql_replica_status_clear(&st);
    mysql_rows_free(rows);

    /* Not a replica: no row. */
    rows = table(14, names, NULL);
    ck_assert_int_eq(mysql_dialect_parse_replica_status(rows, &st, err, sizeof(err)), 0);
    ck_assert(!st.configured);
    ck_assert_str_eq(st.received_gtid, "");
    mysql_replica_status_clear(&st);
    mysql_rows_free(rows);
}
END_TEST

START_TEST(test_replica_status_mysql)
{
    static const char *const names[] = {
        "Replica_IO_State",   "Source_Host",         "Source_User",           "Source_Port",
        "Replica_IO_Running", "Replica_SQL_Running", "Last_IO_Errno",         "Last_IO_Error",
        "Last_SQL_Errno",     "Last_SQL_Error",      "Seconds_Behind_Source", "Retrieved_Gtid_Set",
        "Executed_Gtid_Set",  "Auto_Position"};
    static const char *const values[] = {
        "Waiting for source to send event",
        "db1",
        "repl",
        "3306",
        "No",
        "Yes",
        "13117",
        "Fatal error",
        "0",
        "",
        "0",
        "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5",
        "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n4a11fa47-71ca-11e1-9e33-c80aa9429562:1-2",
        "1"};
    struct mysql_rows *rows = table(14, names, values);
    struct mysql_replica_status st;
    char err[256];
    ck_assert_int_eq(mysql_dialect_parse_replica_status(rows, &st, err, sizeof(err)), 0);
    ck_assert_str_eq(st.source_host, "db1");
    ck_assert_uint_eq(st.source_port, 3306);
    ck_assert_int_eq(st.io_state, MYSQL_IO_STOPPED);
    ck_assert(st.sql_running);
    ck_assert_int_eq(st.lag_seconds, 0);
    ck_assert(st.auto_position);
    ck_assert_uint_eq(st.last_io_errno, 13117);
    ck_assert_str_eq(st.applied_gtid, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,"
                                      "4a11fa47-71ca-11e1-9e33-c80aa9429562:1-2");
    mysql_replica_status_clear(&st);
    mysql_rows_free(rows);

    /* MySQL 8.0 before 8.0.22 answers SHOW SLAVE STATUS with the old column names. */
    static const char *const old_names[] = {"Master_Host",           "Master_Port",
                                            "Slave_IO_Running",      "Slave_SQL_Running",
                                            "Seconds_Behind_Master", "Auto_Position"};
    static const char *const old_values[] = {"db1", "3306", "Yes", "Yes", "12", "0"};
    rows = table(6, old_names, old_values);
    ck_assert_int_eq(mysql_dialect_parse_replica_status(rows, &st, err, sizeof(err)), 0);
    ck_assert_int_eq(st.lag_seconds, 12);
    ck_assert(!st.auto_position);
    mysql_replica_status_clear(&st);
    mysql_rows_free(rows);
}
END_TEST

START_TEST(test_replica_status_malformed)
{
    static const char *const names[] = {"Master_Host", "Master_Port", "Slave_IO_Running",
                                        "Slave_SQL_Running", "Seconds_Behind_Master"};
    struct mysql_replica_status st;
    char err[256];
    static const char *const bad_port[] = {"h", "70000", "Yes", "Yes", "0"};
    struct mysql_rows *rows = table(5, names, bad_port);
    ck_assert_int_eq(mysql_dialect_parse_replica_status(rows, &st, err, sizeof(err)), -EPROTO);
    ck_assert_ptr_nonnull(strstr(err, "70000"));
    mysql_replica_status_clear(&st);
    mysql_rows_free(rows);

    static const char *const bad_io[] = {"h", "3306", "Maybe", "Yes", "0"};
    rows = table(5, names, bad_io);
    ck_assert_int_eq(mysql_dialect_parse_replica_status(rows, &st, err, sizeof(err)), -EPROTO);
    ck_assert_ptr_nonnull(strstr(err, "Maybe"));
    mysql_replica_status_clear(&st);
    mysql_rows_free(rows);

    static const char *const bad_lag[] = {"h", "3306", "Yes", "Yes", "-3"};
    rows = table(5, names, bad_lag);
    ck_assert_int_eq(mysql_dialect_parse_replica_status(rows, &st, err, sizeof(err)), -EPROTO);
    mysql_replica_status_clear(&st);
    mysql_rows_free(rows);

    static const char *const other[] = {"a"};
    static const char *const other_values[] = {"b"};
    rows = table(1, other, other_values);
    ck_assert_int_eq(mysql_dialect_parse_replica_status(rows, &st, err, sizeof(err)), -EPROTO);
    mysql_replica_status_clear(&st);
    mysql_rows_free(rows);
}
END_TEST

START_TEST(test_rows_and_bools)
{
    static const char *const names[] = {"Variable_name", "Value"};
    static const char *const r1[] = {"read_only", "ON"};
    static const char *const r2[] = {"server_id", NULL};
    struct mysql_rows *rows = table(2, names, r1);
    ck_assert_int_eq(mysql_rows_add(rows, r2), 0);
    ck_assert_uint_eq(rows->n_rows, 2);
    ck_assert_int_eq(mysql_rows_column(rows, "VALUE"), 1);
    ck_assert_int_eq(mysql_rows_column(rows, "nope"), -1);
    ck_assert_str_eq(mysql_rows_get(rows, 0, "value"), "ON");
    ck_assert_ptr_null(mysql_rows_get(rows, 1, "Value"));
    ck_assert_ptr_null(mysql_rows_get(rows, 2, "Value"));
    mysql_rows_free(rows);
    mysql_rows_free(NULL);

    bool b;
    ck_assert_int_eq(mysql_dialect_parse_bool("ON", &b), 0);
    ck_assert(b);
    ck_assert_int_eq(mysql_dialect_parse_bool("0", &b), 0);
    ck_assert(!b);
    ck_assert_int_eq(mysql_dialect_parse_bool("yes", &b), 0);
    ck_assert(b);
    ck_assert_int_eq(mysql_dialect_parse_bool("2", &b), -EINVAL);
    ck_assert_int_eq(mysql_dialect_parse_bool(NULL, &b), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mysql_dialect");
    TCase *tc = tcase_create("dialect");
    tcase_add_test(tc, test_version_flavours);
    tcase_add_test(tc, test_version_refused);
    tcase_add_test(tc, test_fixed_statements);
    tcase_add_test(tc, test_quote);
    tcase_add_test(tc, test_change_source);
    tcase_add_test(tc, test_wait);
    tcase_add_test(tc, test_protected_threads);
    tcase_add_test(tc, test_replica_status_mariadb);
    tcase_add_test(tc, test_replica_status_mysql);
    tcase_add_test(tc, test_replica_status_malformed);
    tcase_add_test(tc, test_rows_and_bools);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
