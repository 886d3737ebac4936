/* engine/rules.c — merchandisers' business rules: Lua files that register
 * hooks (price, promo, cart_rule, buy_x_get_y, boost, on) which agents
 * call for prices, promotions, ranking and vetoes. Each file is compiled
 * once with a small prelude that defines the registration functions and
 * one dispatcher; the engine calls the dispatcher with a batch (all the
 * products of a search, a whole cart) so a turn makes one Lua call per
 * file and hook, not one per product. A rule that fails is skipped and
 * reported; it never breaks the turn. */
#include "rules.h"
#include <errno.h>
#include <math.h>
#include <string.h>

/* The prelude is one line so that the merchandiser's line numbers stay
 * true: the script's first line follows it on line 1. A rule that fails
 * on every product of a batch is reported once per call, not per product. */
static const char prelude[] =
    "local __r={price={},boost={},on={},promo={},cart={}} "
    "version=1 "
    "function price(id,f) if type(id)=='function' then f=id id='price'..(#__r.price+1) end "
    "__r.price[#__r.price+1]={id=id,f=f} end "
    "function boost(ev,f,id) __r.boost[#__r.boost+1]={ev=ev,f=f,id=id or ('boost'..(#__r.boost+1))} end "
    "function on(ev,f,id) __r.on[#__r.on+1]={ev=ev,f=f,id=id or (ev..'#'..(#__r.on+1))} end "
    "function promo(code,f,id) __r.promo[string.upper(code)]={f=f,id=id or ('promo:'..string.upper(code))} end "
    "function cart_rule(id,f) __r.cart[#__r.cart+1]={id=id,f=f} end "
    "function deny(msg) return {deny=msg or 'not allowed'} end "
    "function buy_x_get_y(o) cart_rule(o.id or 'buy_x_get_y',function(cart) "
    "local total,why=0,nil for _,l in ipairs(cart.items) do "
    "if (o.sku==nil or o.sku==l.sku) and (o.category==nil or o.category==l.category) then "
    "local n=math.floor(l.qty/(o.buy+o.get)) if o.max and n>o.max then n=o.max end "
    "if n>0 then total=total+n*o.get*l.unitPrice end end end "
    "if total>0 then return {amount=total,reason=o.reason or ('buy '..o.buy..' get '..o.get..' free')} end end) end "
    "local function r2(x) return math.floor(x*100+0.5)/100 end "
    "local function apply(p,res) if type(res)~='table' then return p end "
    "if res.price then p=res.price elseif res.percent then p=p*(1-res.percent/100) "
    "elseif res.amount then p=p-res.amount end if p<0 then p=0 end return r2(p) end "
    "function __dispatch(x) local errs={} local seen={} local out={} local ev=x.event "
    "local function try(r,...) local ok,res=pcall(r.f,...) if not ok then "
    "if not seen[r] then seen[r]=true errs[#errs+1]={id=r.id,error=tostring(res)} end return nil end return res end "
    "if ev=='price' then for i,p in ipairs(x.items) do local cur=p.finalPrice or p.price local ap={} "
    "for _,r in ipairs(__r.price) do local res=try(r,p,x) local nw=apply(cur,res) "
    "if nw~=cur then ap[#ap+1]={id=r.id,version=version,reason=res.reason,before=cur,after=nw} cur=nw end end "
    "out[i]={finalPrice=cur,applied=ap} end "
    "elseif ev=='boost' then for i,p in ipairs(x.items) do local m=1 "
    "for _,r in ipairs(__r.boost) do if r.ev==x.hook then local res=try(r,p,x) if type(res)=='number' and res>0 then m=m*res end end end "
    "out[i]=m end "
    "elseif ev=='on' then for _,r in ipairs(__r.on) do if r.ev==x.hook then local res=try(r,x.action,x) "
    "if type(res)=='table' and res.deny then out={deny=res.deny,id=r.id,version=version} break end end end "
    "elseif ev=='cart' then local ds={} for _,r in ipairs(__r.cart) do local res=try(r,x.cart,x) "
    "if type(res)=='table' and res.amount and res.amount>0 then ds[#ds+1]={id=r.id,version=version,reason=res.reason,amount=r2(res.amount)} end end "
    "local code=x.promoCode and string.upper(x.promoCode) local pr=code and __r.promo[code] "
    "if pr then local res=try(pr,x.cart,x) if type(res)=='table' then local amt=res.amount or 0 "
    "if res.percent then amt=x.cart.subtotal*res.percent/100 end if amt>0 then "
    "ds[#ds+1]={id=pr.id,version=version,reason=res.reason or code,amount=r2(amt),code=code} end "
    "if type(res)=='table' and res.deny then out.promoDenied=res.deny end end "
    "out.promoKnown=true end out.discounts=ds "
    "end x.out={result=out,errors=errs} end ";

struct eng_rules {
    eng_chunk *chunks;
    const char **names;
    size_t n;
};

/* Compile one rules file into r->chunks[r->n] (pool memory). Returns 0,
 * ENG_ECONFIG (the problem is in diags, at FILE:LINE:COL) or ENG_ENOMEM. */
static int compile_one(eng_pool *pool, eng_rules *r, const char *rel, const char *path, eng_diags *diags,
                       eng_build *b, int node)
{
    size_t len;
    char *src = eng__read_file(path, &len);
    if (!src) {
        if (b)
            eng__build_error(b, node, "cannot read rules file \"%s\": %s", rel, strerror(errno));
        else
            eng_diags_add(diags, ENG_DIAG_ERROR, path, 0, 0, "cannot read rules file: %s", strerror(errno));
        return ENG_ECONFIG;
    }
    eng_buf all;
    eng__buf_init(&all);
    eng__buf_add(&all, prelude, sizeof prelude - 1);
    eng__buf_add(&all, src, len);
    eng_err err = {0};
    int c = all.oom ? ENG_ENOMEM : eng__chunk_compile(pool, rel, all.data, all.len, false, &r->chunks[r->n], &err);
    eng__buf_free(&all);
    eng__free(src);
    if (c == ENG_ELUA) {
        eng_diags_add(diags, ENG_DIAG_ERROR, path, err.line ? err.line : 1, 1, "Lua: %s", err.msg);
        return ENG_ECONFIG;
    }
    if (c < 0)
        return c;
    r->names[r->n++] = eng__pool_strdup(pool, rel);
    return 0;
}

int eng__rules_load(eng_build *b, int node, eng_rules **out)
{
    *out = NULL;
    yaml_document_t *d = b->doc;
    yaml_node_t *n = eng__ynode(d, node);
    size_t cnt = 1;
    if (n->type == YAML_SEQUENCE_NODE)
        cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    else if (n->type != YAML_SCALAR_NODE) {
        eng__build_error(b, node, "\"rules\" must be a list of Lua files");
        return ENG_ECONFIG;
    }
    eng_rules *r = eng__pool_alloc(b->p->pool, sizeof *r);
    if (!r || !(r->chunks = eng__pool_alloc(b->p->pool, (cnt ? cnt : 1) * sizeof *r->chunks)) ||
        !(r->names = eng__pool_alloc(b->p->pool, (cnt ? cnt : 1) * sizeof *r->names)))
        return ENG_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < cnt; i++) {
        int item = n->type == YAML_SEQUENCE_NODE ? n->data.sequence.items.start[i] : node;
        const char *rel = eng__yscalar(d, item);
        if (!rel) {
            eng__build_error(b, item, "\"rules\" must be a list of Lua file paths");
            rc = ENG_ECONFIG;
            continue;
        }
        int c = compile_one(b->p->pool, r, rel, eng__build_path(b, rel), b->diags, b, item);
        if (c == ENG_ENOMEM)
            return c;
        if (c < 0)
            rc = c;
    }
    if (rc == 0)
        *out = r;
    return rc;
}

int eng__rules_load_file(eng_pool *pool, const char *path, eng_rules **out, eng_diags *diags)
{
    *out = NULL;
    eng_rules *r = eng__pool_alloc(pool, sizeof *r);
    if (!r || !(r->chunks = eng__pool_alloc(pool, sizeof *r->chunks)) ||
        !(r->names = eng__pool_alloc(pool, sizeof *r->names)))
        return ENG_ENOMEM;
    const char *base = strrchr(path, '/');
    int rc = compile_one(pool, r, base ? base + 1 : path, path, diags, NULL, 0);
    if (rc == 0)
        *out = r;
    return rc;
}

size_t eng__rules_count(const eng_rules *r) { return r ? r->n : 0; }

/* The payload a rule sees as its `ctx`: the event and its items, and the
 * parts of the turn a rule may reason about (borrowed references). */
static json_object *payload(eng_turn *t, const char *event, const char *hook)
{
    json_object *x = json_object_new_object();
    json_object_object_add(x, "event", json_object_new_string(event));
    if (hook)
        json_object_object_add(x, "hook", json_object_new_string(hook));
    static const char *const share[] = {"memory", "user", "session", "intent", "entities", "slots", "sessionId", NULL};
    for (size_t i = 0; share[i]; i++) {
        json_object *v;
        if (json_object_object_get_ex(t->ctx, share[i], &v))
            json_object_object_add(x, share[i], json_object_get(v));
    }
    return x;
}

/* Run one file's dispatcher; *result borrowed from *holder (put it). */
static int dispatch(const eng_rules *r, size_t i, eng_turn *t, json_object *x, json_object **holder,
                    json_object **result)
{
    static const char *const keys[] = {"out", NULL};
    eng_sandbox *sb = eng__sandbox_thread();
    *holder = *result = NULL;
    if (!sb)
        return ENG_ENOMEM;
    eng_err err = {0};
    int rc = eng__sandbox_call(sb, &r->chunks[i], "__dispatch", x, t->deadline_us, keys, holder, NULL, &err);
    json_object *errs = NULL;
    if (rc == 0) {
        json_object *out = eng__json_path(*holder, "out");
        *result = eng__json_path(out, "result");
        errs = eng__json_path(out, "errors");
        /* an empty Lua table comes back as {} */
        if (errs && !json_object_is_type(errs, json_type_array))
            errs = NULL;
    }
    /* failures are reported in vars.ruleErrors and the trace note; the
     * turn goes on without the rule */
    json_object *vars = eng__json_path(t->ctx, "vars");
    json_object *list = eng__json_path(vars, "ruleErrors");
    if ((rc < 0 || (errs && json_object_array_length(errs))) && vars && !list) {
        list = json_object_new_array();
        json_object_object_add(vars, "ruleErrors", list);
    }
    if (rc < 0 && list) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "file", json_object_new_string(r->names[i]));
        json_object_object_add(e, "error", json_object_new_string(err.msg));
        json_object_array_add(list, e);
        eng__turn_note(t, "rule %s skipped: %s", r->names[i], err.msg);
    }
    for (size_t k = 0; errs && list && k < json_object_array_length(errs); k++) {
        json_object *e = json_object_get(json_object_array_get_idx(errs, k));
        json_object_object_add(e, "file", json_object_new_string(r->names[i]));
        json_object_array_add(list, e);
    }
    return rc;
}

int eng__rules_price(const eng_rules *r, eng_turn *t, json_object *cards)
{
    for (size_t k = 0; k < json_object_array_length(cards); k++) {
        json_object *c = json_object_array_get_idx(cards, k);
        json_object *fp;
        if (!json_object_object_get_ex(c, "finalPrice", &fp))
            json_object_object_add(c, "finalPrice", json_object_get(json_object_object_get(c, "price")));
        if (!json_object_object_get_ex(c, "appliedRules", &fp))
            json_object_object_add(c, "appliedRules", json_object_new_array());
    }
    for (size_t i = 0; r && i < r->n; i++) {
        json_object *x = payload(t, "price", NULL), *holder, *res;
        json_object_object_add(x, "items", json_object_get(cards));
        if (dispatch(r, i, t, x, &holder, &res) == 0 && json_object_is_type(res, json_type_array)) {
            for (size_t k = 0; k < json_object_array_length(cards) && k < json_object_array_length(res); k++) {
                json_object *c = json_object_array_get_idx(cards, k), *o = json_object_array_get_idx(res, k);
                json_object *fp = eng__json_path(o, "finalPrice"), *ap = eng__json_path(o, "applied");
                if (fp && (json_object_is_type(fp, json_type_double) || json_object_is_type(fp, json_type_int)))
                    json_object_object_add(c, "finalPrice", json_object_new_double(json_object_get_double(fp)));
                json_object *dst = eng__json_path(c, "appliedRules");
                if (ap && !json_object_is_type(ap, json_type_array))
                    ap = NULL;
                for (size_t j = 0; ap && j < json_object_array_length(ap); j++)
                    json_object_array_add(dst, json_object_get(json_object_array_get_idx(ap, j)));
            }
        }
        json_object_put(holder);
        json_object_put(x);
    }
    return 0;
}

int eng__rules_boost(const eng_rules *r, eng_turn *t, const char *hook, json_object *items, double *mult)
{
    size_t n = json_object_array_length(items);
    for (size_t k = 0; k < n; k++)
        mult[k] = 1.0;
    for (size_t i = 0; r && i < r->n; i++) {
        json_object *x = payload(t, "boost", hook), *holder, *res;
        json_object_object_add(x, "items", json_object_get(items));
        if (dispatch(r, i, t, x, &holder, &res) == 0 && json_object_is_type(res, json_type_array))
            for (size_t k = 0; k < n && k < json_object_array_length(res); k++) {
                double m = json_object_get_double(json_object_array_get_idx(res, k));
                if (isfinite(m) && m > 0)
                    mult[k] *= m;
            }
        json_object_put(holder);
        json_object_put(x);
    }
    return 0;
}

json_object *eng__rules_veto(const eng_rules *r, eng_turn *t, const char *hook, json_object *action)
{
    for (size_t i = 0; r && i < r->n; i++) {
        json_object *x = payload(t, "on", hook), *holder, *res, *veto = NULL;
        json_object_object_add(x, "action", json_object_get(action));
        if (dispatch(r, i, t, x, &holder, &res) == 0 && eng__json_path(res, "deny")) {
            veto = json_object_get(res);
            json_object_object_add(veto, "file", json_object_new_string(r->names[i]));
        }
        json_object_put(holder);
        json_object_put(x);
        if (veto)
            return veto;
    }
    return NULL;
}

json_object *eng__rules_cart(const eng_rules *r, eng_turn *t, json_object *cart, const char *promo_code,
                             bool *promo_known, const char **promo_denied)
{
    json_object *all = json_object_new_array();
    *promo_known = false;
    if (promo_denied)
        *promo_denied = NULL;
    for (size_t i = 0; r && i < r->n; i++) {
        json_object *x = payload(t, "cart", NULL), *holder, *res;
        json_object_object_add(x, "cart", json_object_get(cart));
        if (promo_code)
            json_object_object_add(x, "promoCode", json_object_new_string(promo_code));
        if (dispatch(r, i, t, x, &holder, &res) == 0 && res) {
            json_object *ds = eng__json_path(res, "discounts");
            if (ds && !json_object_is_type(ds, json_type_array))
                ds = NULL;
            for (size_t k = 0; ds && k < json_object_array_length(ds); k++)
                json_object_array_add(all, json_object_get(json_object_array_get_idx(ds, k)));
            json_object *pk = eng__json_path(res, "promoKnown");
            if (pk && json_object_get_boolean(pk))
                *promo_known = true;
            const char *dn = eng__json_str(res, "promoDenied", NULL);
            if (dn && promo_denied)
                *promo_denied = eng__pool_strdup(t->pool, dn);
        }
        json_object_put(holder);
        json_object_put(x);
    }
    return all;
}
