/* users.c -- what the audience and export commands share: the store
 * opened with its built profiles and the table conditions run over, the
 * members of a condition, and how an export names users (by id, or by a
 * keyed pseudonym for a recipient). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profile/profile.h"

/* ---- audiences -------------------------------------------------------------------- */

void segctx_close(segctx_t *x) {
    tl_segtable_free(x->t);
    tl_profile_free(x->p);
    tl_store_close(x->st);
}

int segctx_open(const args_t *a, int writable, segctx_t *x, tl_errbuf_t *eb) {
    memset(x, 0, sizeof *x);
    int rc = cli_store_open(data_dir(a), writable ? 0 : TL_STORE_READONLY, &x->st, eb);
    if (!rc) rc = tl_profile_load(x->st, &x->p, eb);
    if (!rc) rc = tl_segtable_new(x->p, x->st, &x->t);
    if (!rc && !(x->users = tl_store_dict(x->st, TL_D_USER, eb))) rc = TL_ENOMEM;
    if (rc) segctx_close(x);
    return rc;
}

/* Evaluates an expression into a fresh mask; prints the error with a caret. */
int seg_mask(segctx_t *x, const char *cmd, const char *expr, uint8_t **mask, uint32_t *size) {
    uint32_t n = tl_profile_nusers(x->p);
    *mask = malloc(n ? n : 1);
    if (!*mask) return cli_fail(cmd, EXIT_FAIL, TL_ENOMEM, "%s", tl_strerror(TL_ENOMEM));
    tl_expr_err_t err;
    int rc = tl_segment_eval(x->t, expr, *mask, size, &err);
    if (rc) {
        char msg[2048];
        tl_expr_format_error(expr, &err, msg, sizeof msg);
        free(*mask);
        *mask = NULL;
        return cli_fail(cmd, rc == TL_EBADINPUT ? EXIT_USAGE : EXIT_FAIL, rc,
                        "the condition is not valid:\n%s", msg);
    }
    return EXIT_OK;
}

/* ---- how an export names users ---------------------------------------------------- */

int idmap_init(idmap_t *m, const command_t *c, const args_t *a, tl_store_t *st) {
    const char *who = opt(c, a, "recipient");
    memset(m, 0, sizeof *m);
    m->st = st;
    m->pseudo = opt(c, a, "pseudonymous") != NULL;
    tl_buf_init(&m->in);
    if (who && !m->pseudo) return die_usage(c, "--recipient goes with --pseudonymous");
    if (tl_buf_append(&m->in, "export:", 7) || (who && tl_buf_append(&m->in, who, strlen(who))) ||
        tl_buf_append(&m->in, "", 1))
        return cli_fail(c->name, EXIT_FAIL, TL_ENOMEM, "%s", tl_strerror(TL_ENOMEM));
    m->prefix = m->in.len;
    return EXIT_OK;
}

const char *idmap_name(idmap_t *m, const char *id, size_t *n, tl_errbuf_t *eb) {
    if (!m->pseudo) return id;
    m->in.len = m->prefix;
    if (tl_buf_append(&m->in, id, *n) || tl_store_pseudonym(m->st, m->in.data, m->in.len, m->out, eb))
        return NULL;
    *n = 32;
    return m->out;
}
