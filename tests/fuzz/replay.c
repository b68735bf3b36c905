/*
 * Replay driver for fuzz targets built without libFuzzer, so that `make check` exercises every
 * decoder with any compiler. It feeds each file named on the command line (directories are read
 * in name order) to LLVMFuzzerTestOneInput, then a fixed number of deterministic mutations of
 * those files: bit flips, byte substitutions from a small alphabet of separators and digits,
 * truncations, deletions, duplicated chunks and splices of two files. The seed is fixed, so a
 * failure reproduces; the failing mutation is written to a file before it runs, so a crash
 * leaves it behind for `fuzz_NAME that-file`.
 *
 * usage: fuzz_NAME [-runs=N] [-keep=PATH] FILE|DIR...
 *   -runs=N     mutations after the files (default 20000, or $FUZZ_REPLAY_RUNS)
 *   -keep=PATH  where the current mutation is saved (default: not saved)
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT_SIZE (64 * 1024)

struct input {
    uint8_t *data;
    size_t size;
};

struct corpus {
    struct input *inputs;
    size_t count;
    size_t capacity;
};

static int corpus_add(struct corpus *corpus, uint8_t *data, size_t size)
{
    if (corpus->count == corpus->capacity) {
        size_t capacity = corpus->capacity ? corpus->capacity * 2 : 16;
        struct input *grown = realloc(corpus->inputs, capacity * sizeof(*grown));
        if (grown == NULL) {
            return -ENOMEM;
        }
        corpus->inputs = grown;
        corpus->capacity = capacity;
    }
    corpus->inputs[corpus->count].data = data;
    corpus->inputs[corpus->count].size = size;
    corpus->count++;
    return 0;
}

static int read_file(const char *path, struct corpus *corpus)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *data = malloc(MAX_INPUT_SIZE);
    size_t size = data != NULL ? fread(data, 1, MAX_INPUT_SIZE, file) : 0;
    bool failed = data == NULL || ferror(file);
    fclose(file);
    if (failed || corpus_add(corpus, data, size) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(data);
        return -1;
    }
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_directory(const char *path, struct corpus *corpus)
{
    DIR *dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "replay: cannot open directory %s: %s\n", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0;
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') {
            continue;
        }
        char **grown = realloc(names, (count + 1) * sizeof(*names));
        char *name = NULL;
        if (grown == NULL || asprintf(&name, "%s/%s", path, entry->d_name) < 0) {
            if (grown != NULL) {
                names = grown;
            }
            rc = -1;
            break;
        }
        names = grown;
        names[count++] = name;
    }
    closedir(dir);
    if (names != NULL) {
        qsort(names, count, sizeof(*names), compare_names);
    }
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            rc = read_file(names[i], corpus);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* xorshift64*: small, fixed, the same sequence on every machine */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ULL;
}

static size_t random_below(uint64_t *state, size_t bound)
{
    return bound == 0 ? 0 : (size_t)(next_random(state) % bound);
}

/* Characters that matter to text decoders: separators, digits, hex letters, whitespace. */
static const char interesting[] = ",:-.|0123456789abcdefABCDEF \n\t\"{}[]=#\\";

/* One mutation of corpus file `base` into buffer (capacity MAX_INPUT_SIZE); returns its size. */
static size_t mutate(uint64_t *state, const struct corpus *corpus, uint8_t *buffer)
{
    const struct input *base = &corpus->inputs[random_below(state, corpus->count)];
    size_t size = base->size;
    memcpy(buffer, base->data, size);
    size_t steps = 1 + random_below(state, 4);
    for (size_t step = 0; step < steps; step++) {
        size_t at = random_below(state, size + 1);
        switch (random_below(state, 7)) {
        case 0: /* flip a bit */
            if (size > 0) {
                buffer[random_below(state, size)] ^= (uint8_t)(1u << random_below(state, 8));
            }
            break;
        case 1: /* substitute an interesting character */
            if (size > 0) {
                buffer[random_below(state, size)] =
                    (uint8_t)interesting[random_below(state, sizeof(interesting) - 1)];
            }
            break;
        case 2: /* insert an interesting character */
            if (size < MAX_INPUT_SIZE) {
                memmove(buffer + at + 1, buffer + at, size - at);
                buffer[at] = (uint8_t)interesting[random_below(state, sizeof(interesting) - 1)];
                size++;
            }
            break;
        case 3: /* truncate */
            size = at;
            break;
        case 4: { /* delete a range */
            size_t length = random_below(state, size - at + 1);
            memmove(buffer + at, buffer + at + length, size - at - length);
            size -= length;
            break;
        }
        case 5: { /* duplicate a chunk in place, possibly several times */
            size_t length = random_below(state, size - at + 1);
            size_t copies = 1 + random_below(state, 8);
            for (size_t c = 0; c < copies && size + length <= MAX_INPUT_SIZE; c++) {
                memmove(buffer + at + length, buffer + at, size - at);
                size += length;
            }
            break;
        }
        default: { /* splice: keep a prefix, append the tail of another file */
            const struct input *other = &corpus->inputs[random_below(state, corpus->count)];
            size_t from = random_below(state, other->size + 1);
            size_t length = other->size - from;
            if (at + length > MAX_INPUT_SIZE) {
                length = MAX_INPUT_SIZE - at;
            }
            memcpy(buffer + at, other->data + from, length);
            size = at + length;
            break;
        }
        }
    }
    return size;
}

static void keep_input(const char *path, const uint8_t *data, size_t size)
{
    FILE *file = fopen(path, "wb");
    if (file != NULL) {
        fwrite(data, 1, size, file);
        fclose(file);
    }
}

static void corpus_free(struct corpus *corpus)
{
    for (size_t i = 0; i < corpus->count; i++) {
        free(corpus->inputs[i].data);
    }
    free(corpus->inputs);
}

/* Reads the options and the corpus; returns 0 or prints why not and returns -1. */
static int parse_arguments(int argc, char **argv, struct corpus *corpus, long *runs,
                           const char **keep)
{
    const char *env_runs = getenv("FUZZ_REPLAY_RUNS");
    if (env_runs != NULL) {
        *runs = strtol(env_runs, NULL, 10);
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (strncmp(argv[i], "-runs=", 6) == 0) {
            *runs = strtol(argv[i] + 6, NULL, 10);
        } else if (strncmp(argv[i], "-keep=", 6) == 0) {
            *keep = argv[i] + 6;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "replay: unknown option %s (libFuzzer options need --enable-fuzzing)\n",
                    argv[i]);
            return -1;
        } else if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            return -1;
        } else if ((S_ISDIR(st.st_mode) ? read_directory(argv[i], corpus)
                                        : read_file(argv[i], corpus)) != 0) {
            return -1;
        }
    }
    if (corpus->count == 0) {
        fprintf(stderr, "replay: no input files; usage: %s [-runs=N] [-keep=PATH] FILE|DIR...\n",
                argv[0]);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct corpus corpus = {0};
    long runs = 20000;
    const char *keep = NULL;
    uint8_t *buffer = malloc(MAX_INPUT_SIZE);
    if (buffer == NULL || parse_arguments(argc, argv, &corpus, &runs, &keep) != 0) {
        if (buffer == NULL) {
            fprintf(stderr, "replay: out of memory\n");
        }
        free(buffer);
        corpus_free(&corpus);
        return 2;
    }
    size_t replayed = 0;
    for (size_t i = 0; i < corpus.count; i++) {
        LLVMFuzzerTestOneInput(corpus.inputs[i].data, corpus.inputs[i].size);
        replayed++;
    }
    uint64_t state = 0x6d6d636f6f726421ULL;
    for (long run = 0; run < runs; run++) {
        size_t size = mutate(&state, &corpus, buffer);
        if (keep != NULL) {
            keep_input(keep, buffer, size);
        }
        LLVMFuzzerTestOneInput(buffer, size);
        replayed++;
    }
    printf("replayed %zu inputs (%zu files, %ld mutations)\n", replayed, corpus.count, runs);
    free(buffer);
    corpus_free(&corpus);
    return 0;
}
