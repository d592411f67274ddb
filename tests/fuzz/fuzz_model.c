/* fuzz_model.c -- feeds the input, as a recommender's model file, to the
 * loader (src/rec/rec.c: tl_model_load), and a model it accepts to what
 * serving does with one: top-N for users with and without a training row,
 * the item that explains each pick, kNN neighbours, and a served list with
 * a scene (items on screen blended in) and diversity.
 *
 * A file's last 8 bytes are the XXH3-64 of the rest, so a mutated file is
 * nearly always refused for its checksum alone. Every input is loaded as it
 * is, and then once more with the checksum made right, so the fuzzer also
 * reaches what the loader checks after the checksum and what a model that
 * passes it does (a damaged file written with a good checksum, or a file
 * made by hand, must be refused or served safely, never read out of bounds).
 *
 * Checked beyond "no crash": a refusal says why; items returned by top-N,
 * serving, explanations and neighbours are items of the model, and top-N
 * leaves out the user's training items. */
#include "fuzz.h"
#include "rec/rec.h"

#include <xxhash.h>

/* A small training matrix: users 0..2 with the first, middle and last item
 * (user 1 has none). */
static void make_train(uint32_t ni, tl_csr_t *x, uint64_t rowptr[4], uint32_t col[6],
                       float val[6]) {
    uint32_t it[3] = {0, ni / 2, ni - 1}, n = 0;
    rowptr[0] = 0;
    for (uint32_t u = 0; u < 3; u++) {
        for (uint32_t k = 0; u != 1 && k < 3; k++)
            if (n == rowptr[u] || col[n - 1] < it[k]) col[n] = it[k], val[n] = 1.0f + (float)k, n++;
        rowptr[u + 1] = n;
    }
    *x = (tl_csr_t){3, ni, n, rowptr, col, val};
}

static int in_row(const tl_csr_t *x, uint32_t u, uint32_t item) {
    if (u >= x->nusers) return 0;
    for (uint64_t k = x->rowptr[u]; k < x->rowptr[u + 1]; k++)
        if (x->col[k] == item) return 1;
    return 0;
}

static void exercise(const tl_model_t *m) {
    uint32_t ni = tl_model_nitems(m);
    FUZZ_CHECK(ni > 0);
    tl_csr_t x;
    uint64_t rowptr[4];
    uint32_t col[6], items[8];
    float val[6], scores[8];
    make_train(ni, &x, rowptr, col, val);
    for (uint32_t u = 0; u < 4; u++) {
        uint32_t got = tl_rec_topn(m, &x, u, 8, items, scores);
        FUZZ_CHECK(got <= 8);
        for (uint32_t k = 0; k < got; k++) {
            FUZZ_CHECK(items[k] < ni && !in_row(&x, u, items[k]));
            uint32_t b = tl_rec_because(m, &x, u, items[k]);
            FUZZ_CHECK(b == TL_NONE || in_row(&x, u, b));
        }
    }
    float sims[8];
    uint32_t probe[2] = {0, ni - 1};
    for (int k = 0; k < 2; k++) {
        uint32_t got = tl_rec_similar(m, probe[k], 8, items, sims);
        FUZZ_CHECK(got <= 8);
        for (uint32_t q = 0; q < got; q++) FUZZ_CHECK(items[q] < ni);
    }
    tl_serve_opts_t so;
    memset(&so, 0, sizeof so);
    so.context = probe;
    so.ncontext = 2;
    so.context_weight = 0.5;
    so.diversity = 0.3;
    so.head_share = 0.1;
    so.head_cap = 1;
    tl_served_t out[6];
    const tl_model_t *pop = tl_model_kind(m) == TL_MODEL_POP ? m : NULL;
    for (uint32_t u = 0; u < 4; u++) {
        uint32_t got = tl_rec_serve(m, pop, &x, u, 6, &so, out);
        FUZZ_CHECK(got <= 6);
        for (uint32_t k = 0; k < got; k++)
            FUZZ_CHECK(out[k].item < ni && (out[k].because == TL_NONE || out[k].because < ni));
    }
    /* over a catalogue grown since the model, with a scene item newer than
     * it: nothing past the model's arrays is read */
    x.nitems = ni + 7;
    uint32_t newer[1] = {ni + 3};
    so.context = newer;
    so.ncontext = 1;
    for (uint32_t u = 0; u < 4; u++) {
        uint32_t got = tl_rec_serve(m, pop, &x, u, 6, &so, out);
        FUZZ_CHECK(got <= 6);
        for (uint32_t k = 0; k < got; k++) FUZZ_CHECK(out[k].item < ni + 7 && out[k].item != ni + 3);
    }
    (void)tl_rec_segpop_group(m, 0);
}

static void load(const uint8_t *data, size_t size) {
    const char *path = fuzz_input_path(data, size);
    tl_model_t *m;
    tl_errbuf_t eb = {{0}};
    int rc = tl_model_load(path, &m, &eb);
    if (rc) {
        FUZZ_CHECK(m == NULL && eb.msg[0] != 0);
        FUZZ_CHECK(rc == TL_ECORRUPT || rc == TL_EVERSION || rc == TL_ENOMEM);
        return;
    }
    exercise(m);
    tl_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load(data, size);
    if (size < 8) return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    uint64_t d = XXH3_64bits(fixed, size - 8);
    if (memcmp(fixed + size - 8, &d, 8) != 0) {
        memcpy(fixed + size - 8, &d, 8);
        load(fixed, size);
    }
    free(fixed);
    return 0;
}
