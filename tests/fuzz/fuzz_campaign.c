/* fuzz_campaign.c -- feeds the input, as a campaign definition (JSON), to
 * the parser (src/campaign/campaign.c, journey.c: tl_campaign_parse), and
 * a definition it accepts to runs: a store in memory with four users and a
 * few carts, views, purchases and repayments gets the campaign created and
 * run at four times going forward (a trigger's window, a journey's waits),
 * then a journey's places are read.
 *
 * Checked beyond "no crash": a refusal says why; what the parser accepts it
 * accepts again from its own stored form, as the same kind with as many
 * arms; each run's decisions add up to its audience and its deliveries by
 * arm to those that deliver; a run that fails says why. */
#include "fuzz.h"
#include "campaign/campaign.h"

#include <cjson/cJSON.h>
#include <math.h>

#define T0 INT64_C(1764057600000) /* 2025-11-25T08:00:00Z */
#define MIN INT64_C(60000)
#define HOUR (60 * MIN)

static tl_store_t *small_store(void) {
    tl_store_t *st = NULL;
    tl_errbuf_t eb = {{0}};
    tl_store_conf_t c = *fuzz_conf();
    c.backend = &tl_store_memory;
    fuzz_need(tl_store_open_conf(fuzz_dir(), &c, TL_STORE_CREATE, &st, &eb), "store open", &eb);
    fuzz_need(tl_store_begin(st, &eb), "begin", &eb);
    tl_item_t it = {.title = "x", .category = "travel/flights", .price = 100};
    fuzz_need(tl_store_put_item(st, "i0", &it, &eb) < 0, "item", &eb);
    tl_dict_t *users = tl_store_dict(st, TL_D_USER, &eb), *items = tl_store_dict(st, TL_D_ITEM, &eb);
    FUZZ_CHECK(users && items);
    static const struct {
        int user, type;
        int64_t at;
        double amount;
    } EV[] = {{0, TL_EV_CART, 0, NAN},        {0, TL_EV_PURCHASE, HOUR, 800},
              {1, TL_EV_VIEW, 0, NAN},        {1, TL_EV_CART, 10 * MIN, NAN},
              {2, TL_EV_REPAY, -48 * HOUR, 100}, {2, TL_EV_REPAY, -24 * HOUR, 100},
              {2, TL_EV_REPAY, 5 * MIN, 100}, {3, TL_EV_PURCHASE, 20 * MIN, 5000},
              {3, TL_EV_VIEW, 26 * HOUR, NAN}};
    uint32_t item = tl_dict_find(items, "i0", 2);
    for (size_t k = 0; k < sizeof EV / sizeof *EV; k++) {
        char id[8];
        uint32_t u;
        snprintf(id, sizeof id, "u%d", EV[k].user);
        fuzz_need(tl_dict_intern(users, id, strlen(id), &u, NULL), "user", &eb);
        if (k < 4) fuzz_need(tl_store_put_consent(st, u, "marketing_push", 1, T0 - 100 * HOUR, &eb) < 0,
                             "consent", &eb);
        tl_event_t e = {.fp = 1000 + k, .user = u, .item = item, .ts = T0 + EV[k].at,
                        .type = (uint8_t)EV[k].type, .channel = TL_CH_APP, .qty = 1,
                        .amount = EV[k].amount, .rating = NAN, .lat = NAN, .lon = NAN,
                        .query = TL_NONE, .city = TL_NONE, .session = TL_NONE, .campaign = TL_NONE};
        FUZZ_CHECK(tl_store_add_event(st, &e, &eb) == 1);
    }
    fuzz_need(tl_store_commit(st, &eb), "commit", &eb);
    return st;
}

static int count_pos(const tl_journey_pos_t *p, void *arg) {
    FUZZ_CHECK(p->user && p->arm);
    ++*(int *)arg;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    FUZZ_CHECK(text);
    memcpy(text, data, size);
    text[size] = 0;
    tl_campaign_t c, again;
    tl_errbuf_t eb = {{0}};
    int rc = tl_campaign_parse(text, &c, &eb);
    free(text);
    if (rc) {
        FUZZ_CHECK(rc == TL_EBADINPUT && eb.msg[0]);
        return 0;
    }
    FUZZ_CHECK(tl_campaign_parse(c.def, &again, &eb) == 0);
    FUZZ_CHECK(strcmp(tl_campaign_kind(&c), tl_campaign_kind(&again)) == 0 && c.narms == again.narms);
    tl_campaign_fini(&again);
    tl_store_t *st = small_store();
    tl_campaign_t made;
    rc = tl_campaign_create(st, c.def, 0, &made, &eb);
    FUZZ_CHECK(rc == 0 || eb.msg[0]);
    static const int64_t AT[] = {30 * MIN, 2 * HOUR, 50 * HOUR, 9 * 24 * HOUR};
    for (size_t k = 0; rc == 0 && k < sizeof AT / sizeof *AT; k++) {
        tl_run_opts_t o = {.at = T0 + AT[k]};
        tl_run_result_t r;
        eb.msg[0] = 0;
        int run = tl_campaign_run(st, &made, &o, &r, &eb);
        if (run) {
            FUZZ_CHECK(eb.msg[0]);
            continue;
        }
        uint64_t sum = 0, delivered = 0, by_arm = 0;
        for (int d = 0; d < TL_DEC__N; d++) {
            sum += r.counts[d];
            if (TL_DEC_DELIVERS(d)) delivered += r.counts[d];
        }
        for (int a = 0; a < made.narms; a++) by_arm += r.by_arm[a];
        FUZZ_CHECK(sum == r.audience && by_arm == delivered);
        struct cJSON *j = tl_run_result_json(&made, &r);
        FUZZ_CHECK(j);
        cJSON_Delete(j);
    }
    if (rc == 0 && made.journey) {
        int n = 0;
        FUZZ_CHECK(tl_journey_positions(st, &made, count_pos, &n, &eb) == 0 && n <= 4);
        struct cJSON *j = tl_journey_json(st, &made, &eb);
        FUZZ_CHECK(j);
        cJSON_Delete(j);
    }
    if (rc == 0) tl_campaign_fini(&made);
    tl_store_close(st);
    tl_campaign_fini(&c);
    return 0;
}
