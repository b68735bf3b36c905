/*
 * Fuzz target for the control socket's request handling (coord/control.h): any line must get a
 * JSON object back with a boolean "ok"; anything that is not an object with a string "cmd"
 * must be answered with ok=false and an error, without reaching the handler.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/require.h"

static int handled;

static json_t *handler(void *data, const char *cmd, json_t *request, uid_t uid)
{
    (void)data;
    (void)uid;
    REQUIRE(json_is_object(request));
    REQUIRE(json_is_string(json_object_get(request, "cmd")));
    handled++;
    if (strcmp(cmd, "null") == 0) {
        return NULL; /* the socket must still answer */
    }
    return json_pack("{s:b, s:s}", "ok", 1, "echo", cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (line == NULL) {
        return 0;
    }
    memcpy(line, data, size);
    handled = 0;
    char *text = control_handle_line(line, size, handler, NULL, 0);
    REQUIRE(text != NULL);
    json_error_t jerr;
    json_t *response = json_loads(text, 0, &jerr);
    REQUIRE(response != NULL && json_is_object(response));
    json_t *ok = json_object_get(response, "ok");
    REQUIRE(json_is_boolean(ok));
    if (handled == 0 || json_is_false(ok)) {
        REQUIRE(json_is_false(ok));
        REQUIRE(json_is_string(json_object_get(response, "error")));
    }
    json_decref(response);
    free(text);
    free(line);
    return 0;
}
