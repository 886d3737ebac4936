/* engine/rules.c — merchandisers' business rules: Lua files that register
 * hooks (price, promo, cart_rule, buy_x_get_y, boost, on) which agents
 * call for prices, promotions, ranking and vetoes. Each file is compiled
 * once with a small prelude that defines the registration functions and
 * one dispatcher, and its top level is run once at load in a scratch
 * sandbox: a file that fails there (a runtime error, a forbidden global
 * such as io, a limit) is refused like a syntax error, so a broken file
 * never replaces a working one. The engine calls the dispatcher with a
 * batch (all the products of a search, a whole cart) so a turn makes one
 * Lua call per file and hook, not one per product.
 *
 * A rule that fails is skipped, except a veto (on): a failing veto denies
 * its action unless it was registered fail_open. Every failure goes to
 * vars.ruleErrors, the trace note and the process-wide eng_on_rule_error
 * hook (the gateway's log line and metric). */
#include "rules.h"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* How long a file's top level may run at load (the instruction budget and
 * memory cap are the sandbox's per-call ones). */
#define LOAD_DEADLINE_US 5000000
/* What the shopper reads when a veto that could not run denies. */
#define VETO_FAILED "this can't be done right now, please try again later"

/* The prelude is one line so that the merchandiser's line numbers stay
 * true: the script's first line follows it on line 1 (compile_one puts
 * `local __file="<file name>"` in front, on the same line). Default ids
 * come from the file and the rule's kind and name, counted per name
 * ("cart_limits.lua:on:cart.add", then "...:on:cart.add#2"), so removing
 * a rule of another kind or name leaves an id alone. A rule that fails
 * on every product of a batch is reported once per call, not per
 * product. */
static const char prelude[] =
    "local __r={price={},boost={},on={},promo={},cart={}} local __n={} "
    "local __ld=__linedefined __linedefined=nil "
    "version=1 "
    "local function __id(k) local c=(__n[k] or 0)+1 __n[k]=c "
    "return __file..':'..k..(c>1 and ('#'..c) or '') end "
    "local function __fn(f,w) if type(f)~='function' then "
    "error(w..': expected a function, got '..type(f),3) end return __ld and __ld(f) or 0 end "
    "local function __opt(o,w) local i,op=o,nil if type(o)=='table' then i,op=o.id,o.fail_open end "
    "if i~=nil and type(i)~='string' then error(w..': the id must be a string',3) end return i,op==true end "
    "local function __name(v,w) if type(v)~='string' then "
    "error(w..': the first argument must be a name such as \"cart.add\"',3) end return v end "
    "function price(id,f) if type(id)=='function' then f,id=id,nil end local ln=__fn(f,'price') "
    "local i=__opt(id,'price') __r.price[#__r.price+1]={id=i or __id('price'),f=f,line=ln,hook='price'} end "
    "function boost(ev,f,o) __name(ev,'boost') local ln=__fn(f,'boost') local i=__opt(o,'boost') "
    "__r.boost[#__r.boost+1]={ev=ev,f=f,id=i or __id('boost:'..ev),line=ln,hook='boost:'..ev} end "
    "function on(ev,f,o) __name(ev,'on') local ln=__fn(f,'on') local i,op=__opt(o,'on') "
    "__r.on[#__r.on+1]={ev=ev,f=f,id=i or __id('on:'..ev),open=op,line=ln,hook='on:'..ev} end "
    "function promo(code,f,o) __name(code,'promo') local ln=__fn(f,'promo') local C=string.upper(code) "
    "local i=__opt(o,'promo') __r.promo[C]={f=f,id=i or ('promo:'..C),line=ln,hook='promo:'..C} end "
    "function cart_rule(id,f) if type(id)=='function' then f,id=id,nil end local ln=__fn(f,'cart_rule') "
    "local i=__opt(id,'cart_rule') __r.cart[#__r.cart+1]={id=i or __id('cart_rule'),f=f,line=ln,hook='cart'} end "
    "function deny(msg) return {deny=msg or 'not allowed'} end "
    /* max caps the free sets of the whole promotion, cheapest lines first */
    "function buy_x_get_y(o) if type(o)~='table' or type(o.buy)~='number' or type(o.get)~='number' "
    "or o.buy<1 or o.get<1 then error('buy_x_get_y: needs {buy = N, get = M}, numbers of at least 1',2) end "
    "local i=__opt(o.id,'buy_x_get_y') __r.cart[#__r.cart+1]={id=i or __id('buy_x_get_y'),line=0,hook='cart',f=function(cart) "
    "local sets={} for _,l in ipairs(cart.items) do "
    "if (o.sku==nil or o.sku==l.sku) and (o.category==nil or o.category==l.category) then "
    "local n=math.floor(l.qty/(o.buy+o.get)) if n>0 then sets[#sets+1]={n=n,p=l.unitPrice} end end end "
    "table.sort(sets,function(a,b) return a.p<b.p end) local left=o.max or math.huge local total=0 "
    "for _,s in ipairs(sets) do if left<=0 then break end local k=math.min(s.n,left) "
    "total=total+k*o.get*s.p left=left-k end "
    "if total>0 then return {amount=total,reason=o.reason or ('buy '..o.buy..' get '..o.get..' free')} end end} end "
    "local function r2(x) return math.floor(x*100+0.5)/100 end "
    "local function apply(p,res) if type(res)~='table' then return p end "
    "if res.price then p=res.price elseif res.percent then p=p*(1-res.percent/100) "
    "elseif res.amount then p=p-res.amount end if p<0 then p=0 end return r2(p) end "
    "function __hooks(x) local l={} for _,k in ipairs({'price','boost','on','cart'}) do "
    "for _,r in ipairs(__r[k]) do l[#l+1]={id=r.id,hook=r.hook,line=r.line,failOpen=r.open} end end "
    "for _,r in pairs(__r.promo) do l[#l+1]={id=r.id,hook=r.hook,line=r.line} end "
    "x.out={version=version,rules=l} end "
    "function __dispatch(x) local errs={} local seen={} local out={} local ev=x.event "
    "local function note(r,res) local e=seen[r] if e then return e end "
    "local m=type(res)=='string' and res or ('(error object is a '..type(res)..' value)') "
    "local ln,rest=string.match(m,'^.-:(%d+): (.*)$') "
    "e={id=r.id,error=m,message=rest or m,line=tonumber(ln) or r.line,hook=r.hook} "
    "seen[r]=e errs[#errs+1]=e return e end "
    "local function try(r,...) local ok,res=pcall(r.f,...) if not ok then note(r,res) return false end return true,res end "
    "if ev=='price' then for i,p in ipairs(x.items) do local cur=p.finalPrice or p.price local ap={} "
    "for _,r in ipairs(__r.price) do local ok,res=try(r,p,x) if ok then local ok2,nw=pcall(apply,cur,res) "
    "if not ok2 then note(r,nw) elseif nw~=cur then "
    "ap[#ap+1]={id=r.id,version=version,reason=res.reason,before=cur,after=nw} cur=nw end end end "
    "out[i]={finalPrice=cur,applied=ap} end "
    "elseif ev=='boost' then for i,p in ipairs(x.items) do local m=1 "
    "for _,r in ipairs(__r.boost) do if r.ev==x.hook then local ok,res=try(r,p,x) "
    "if ok and type(res)=='number' and res>0 then m=m*res end end end out[i]=m end "
    "elseif ev=='on' then for _,r in ipairs(__r.on) do if r.ev==x.hook then local ok,res=try(r,x.action,x) "
    "if not ok then if not r.open then note(r).denied=true "
    "out={deny=\"" VETO_FAILED "\",id=r.id,version=version,failed=true} break end "
    "elseif type(res)=='table' and res.deny then "
    "out={deny=type(res.deny)=='string' and res.deny or 'not allowed',id=r.id,version=version} break end end end "
    "elseif ev=='cart' then local ds={} for _,r in ipairs(__r.cart) do local ok,res=try(r,x.cart,x) "
    "if ok and type(res)=='table' and type(res.amount)=='number' and res.amount>0 then "
    "ds[#ds+1]={id=r.id,version=version,reason=res.reason,amount=r2(res.amount)} end end "
    "local code=type(x.promoCode)=='string' and string.upper(x.promoCode) local pr=code and __r.promo[code] "
    "if pr then local ok,res=try(pr,x.cart,x) if ok and type(res)=='table' then "
    "local amt=type(res.amount)=='number' and res.amount or 0 "
    "if type(res.percent)=='number' then amt=x.cart.subtotal*res.percent/100 end if amt>0 then "
    "ds[#ds+1]={id=pr.id,version=version,reason=res.reason or code,amount=r2(amt),code=code} end "
    "if res.deny then out.promoDenied=tostring(res.deny) end end "
    "out.promoKnown=true end out.discounts=ds "
    "end x.out={result=out,errors=errs} end ";

/* What __hooks said a file registered: enough to skip a file that has
 * nothing for a call, and to blame a rule when a whole call fails. */
typedef struct rule_meta {
    const char *id, *hook; /* hook: "price", "boost:search", "on:cart.add", "cart", "promo:CODE" */
    int line;              /* where its function was defined; 0 unknown */
    bool fail_open;        /* on() only: allow the action when it fails */
} rule_meta;

typedef struct file_meta {
    rule_meta *rules;
    size_t n;
} file_meta;

struct eng_rules {
    eng_chunk *chunks;
    const char **names;
    file_meta *meta;
    size_t n;
};

/* ------------------------------------------------------ rule error hook */

static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;
static eng_rule_error_fn hook_fn;
static void *hook_ud;

void eng_on_rule_error(eng_rule_error_fn fn, void *ud)
{
    pthread_mutex_lock(&hook_mu);
    hook_fn = fn;
    hook_ud = ud;
    pthread_mutex_unlock(&hook_mu);
}

/* Copied under the lock, called outside it: the hook may take its own
 * locks and write logs. */
static void emit(const eng_rule_error *e)
{
    pthread_mutex_lock(&hook_mu);
    eng_rule_error_fn fn = hook_fn;
    void *ud = hook_ud;
    pthread_mutex_unlock(&hook_mu);
    if (fn)
        fn(ud, e);
}

/* ------------------------------------------------------------- loading */

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* s as a Lua string literal */
static void add_lua_string(eng_buf *b, const char *s)
{
    eng__buf_addc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            eng__buf_addc(b, '\\');
            eng__buf_addc(b, (char)c);
        } else if (c < 32 || c == 127) {
            char e[8];
            snprintf(e, sizeof e, "\\%03u", c);
            eng__buf_adds(b, e);
        } else {
            eng__buf_addc(b, (char)c);
        }
    }
    eng__buf_addc(b, '"');
}

/* msg without its leading "NAME:" or "NAME:LINE:" (the diagnostic says
 * where already). */
static const char *strip_pos(const char *msg, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(msg, name, n) != 0 || msg[n] != ':')
        return msg;
    const char *p = msg + n + 1, *q = p;
    while (*q >= '0' && *q <= '9')
        q++;
    if (q > p && *q == ':')
        p = q + 1;
    while (*p == ' ')
        p++;
    return p;
}

/* A word for the merchandiser who reached for something the sandbox
 * leaves out. */
static const char *forbidden_hint(const char *why)
{
    static const char *const gone[] = {"io", "os", "package", "debug", "require", "dofile", "loadfile",
                                       "collectgarbage", NULL};
    for (size_t i = 0; gone[i]; i++) {
        char pat[48];
        snprintf(pat, sizeof pat, "global '%s'", gone[i]);
        if (strstr(why, pat))
            return " (rules run sandboxed: there is no io, os, package, require, debug or file access)";
    }
    return "";
}

/* A hook no caller asks is almost always a typo ("cart.ad"): a warning,
 * not an error, so that a file can be written ahead of a new hook. */
static void warn_unknown_hook(const rule_meta *rm, const char *path, eng_diags *diags)
{
    static const char *const on[] = {"cart.add", "cart.set", "cart.remove", "cart.clear", "order.create",
                                     "order.cancel", NULL};
    static const char *const boost[] = {"search", "recommend", NULL};
    const char *const *known = NULL, *name = NULL;
    if (strncmp(rm->hook, "on:", 3) == 0)
        known = on, name = rm->hook + 3;
    else if (strncmp(rm->hook, "boost:", 6) == 0)
        known = boost, name = rm->hook + 6;
    if (!known)
        return;
    for (size_t i = 0; known[i]; i++)
        if (strcmp(known[i], name) == 0)
            return;
    char list[160] = "";
    for (size_t i = 0, o = 0; known[i] && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", known[i]);
    eng_diags_add(diags, ENG_DIAG_WARNING, path, rm->line > 0 ? rm->line : 1, 1,
                  "%.*s(\"%s\"): nothing calls this hook, so the rule never runs (known: %s)",
                  (int)(strchr(rm->hook, ':') - rm->hook), rm->hook, name, list);
}

/* Run chunk r->chunks[r->n]'s top level once in a scratch sandbox, as
 * every worker's sandbox will, and keep what it registered. A failure is
 * the file's error: ENG_ECONFIG with FILE:LINE in diags. */
static int check_top(eng_pool *pool, eng_rules *r, const char *path, eng_diags *diags)
{
    const eng_chunk *c = &r->chunks[r->n];
    eng_sandbox *sb = eng__sandbox_new(NULL);
    if (!sb)
        return ENG_ENOMEM;
    static const char *const keys[] = {"out", NULL};
    json_object *holder = NULL;
    eng_err err = {0};
    int rc = eng__sandbox_call(sb, c, "__hooks", NULL, eng_now_us() + LOAD_DEADLINE_US, keys, &holder, NULL, &err);
    eng__sandbox_free(sb);
    if (rc == ENG_ENOMEM)
        return rc;
    if (rc < 0) {
        const char *why = strip_pos(err.msg, c->name);
        eng_diags_add(diags, ENG_DIAG_ERROR, path, err.line > 0 ? err.line : 1, 1, "Lua: %s%s", why,
                      forbidden_hint(why));
        return ENG_ECONFIG;
    }
    file_meta *m = &r->meta[r->n];
    json_object *list = eng__json_path(holder, "out.rules");
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    m->n = 0;
    m->rules = n ? eng__pool_alloc(pool, n * sizeof *m->rules) : NULL;
    if (n && !m->rules) {
        json_object_put(holder);
        return ENG_ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        json_object *o = json_object_array_get_idx(list, k);
        rule_meta *rm = &m->rules[m->n];
        rm->id = eng__pool_strdup(pool, eng__json_str(o, "id", "?"));
        rm->hook = eng__pool_strdup(pool, eng__json_str(o, "hook", "?"));
        rm->line = json_object_get_int(eng__json_path(o, "line"));
        rm->fail_open = json_object_get_boolean(eng__json_path(o, "failOpen"));
        if (!rm->id || !rm->hook) {
            json_object_put(holder);
            return ENG_ENOMEM;
        }
        warn_unknown_hook(rm, path, diags);
        m->n++;
    }
    json_object_put(holder);
    return 0;
}

/* Compile one rules file into r->chunks[r->n] (pool memory) and run its
 * top level once. Returns 0, ENG_ECONFIG (the problem is in diags, at
 * FILE:LINE:COL) or ENG_ENOMEM. */
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
    eng__buf_adds(&all, "local __file=");
    add_lua_string(&all, base_name(rel));
    eng__buf_addc(&all, ' ');
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
    c = check_top(pool, r, path, diags);
    if (c < 0)
        return c;
    r->names[r->n++] = eng__pool_strdup(pool, rel);
    return 0;
}

static eng_rules *rules_new(eng_pool *pool, size_t cnt)
{
    if (!cnt)
        cnt = 1;
    eng_rules *r = eng__pool_alloc(pool, sizeof *r);
    if (!r || !(r->chunks = eng__pool_alloc(pool, cnt * sizeof *r->chunks)) ||
        !(r->names = eng__pool_alloc(pool, cnt * sizeof *r->names)) ||
        !(r->meta = eng__pool_alloc(pool, cnt * sizeof *r->meta)))
        return NULL;
    return r;
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
    eng_rules *r = rules_new(b->p->pool, cnt);
    if (!r)
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
    eng_rules *r = rules_new(pool, 1);
    if (!r)
        return ENG_ENOMEM;
    int rc = compile_one(pool, r, base_name(path), path, diags, NULL, 0);
    if (rc == 0)
        *out = r;
    return rc;
}

size_t eng__rules_count(const eng_rules *r) { return r ? r->n : 0; }

/* ------------------------------------------------------------- calling */

/* Whether a rule registered for `hook` takes part in a call for `want`. */
static bool relevant(const char *hook, const char *want)
{
    return strcmp(hook, want) == 0 || (strcmp(want, "cart") == 0 && strncmp(hook, "promo:", 6) == 0);
}

static bool has_rules(const file_meta *m, const char *want)
{
    for (size_t k = 0; k < m->n; k++)
        if (relevant(m->rules[k].hook, want))
            return true;
    return false;
}

/* The rule a whole failed call most likely stopped in: the last one
 * defined at or above the line it stopped at, or the only one the call
 * ran; NULL when that cannot be told. */
static const rule_meta *blame(const file_meta *m, const char *want, int line)
{
    const rule_meta *best = NULL, *only = NULL;
    size_t n = 0;
    for (size_t k = 0; k < m->n; k++) {
        const rule_meta *rm = &m->rules[k];
        if (!relevant(rm->hook, want))
            continue;
        n++;
        only = rm;
        if (line > 0 && rm->line > 0 && rm->line <= line && (!best || rm->line > best->line))
            best = rm;
    }
    return best ? best : n == 1 ? only : NULL;
}

/* One rule failure: into vars.ruleErrors (when the context has vars),
 * the trace note and the process-wide hook. */
static void report(const eng_rules *r, size_t i, eng_turn *t, const eng_rule_error *e)
{
    json_object *vars = eng__json_path(t->ctx, "vars");
    json_object *list = eng__json_path(vars, "ruleErrors");
    if (vars && !list) {
        list = json_object_new_array();
        json_object_object_add(vars, "ruleErrors", list);
    }
    if (list) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(e->rule_id));
        json_object_object_add(o, "file", json_object_new_string(r->names[i]));
        json_object_object_add(o, "line", json_object_new_int(e->line));
        json_object_object_add(o, "hook", json_object_new_string(e->hook));
        if (t->stage)
            json_object_object_add(o, "stage", json_object_new_string(t->stage));
        json_object_object_add(o, "error", json_object_new_string(e->error));
        json_object_object_add(o, "message", json_object_new_string(e->message));
        if (e->denied)
            json_object_object_add(o, "denied", json_object_new_boolean(1));
        json_object_array_add(list, o);
    }
    eng__turn_note(t, "rule %s failed%s: %s", e->rule_id, e->denied ? " (action denied)" : "", e->error);
    emit(e);
}

/* Run one file's dispatcher for `want` (see relevant()); *result is
 * borrowed from *holder (put it). Failures of single rules come back from
 * Lua and are reported here; so is a failure of the whole call (a limit,
 * say), blamed on a rule where it can be. is_veto: a failed call denies
 * unless the rule it is blamed on is fail_open (or, unblamed, every rule
 * of the hook is); *deny_id then names the rule (pool string). */
static int dispatch(const eng_rules *r, size_t i, eng_turn *t, const char *want, bool is_veto, json_object *x,
                    json_object **holder, json_object **result, const char **deny_id)
{
    static const char *const keys[] = {"out", NULL};
    *holder = *result = NULL;
    if (deny_id)
        *deny_id = NULL;
    const file_meta *m = &r->meta[i];
    if (!has_rules(m, want))
        return 0;
    eng_sandbox *sb = eng__sandbox_acquire();
    eng_err err = {0};
    int rc = sb ? eng__sandbox_call(sb, &r->chunks[i], "__dispatch", x, t->deadline_us, keys, holder, NULL, &err)
                : eng_err_set(&err, ENG_ENOMEM, "%s: no Lua state (out of memory)", r->names[i]);
    eng__sandbox_release(sb);
    if (rc < 0) {
        const rule_meta *rm = blame(m, want, err.line);
        bool denied = false;
        const char *id = rm ? rm->id : NULL;
        if (is_veto && rm) {
            denied = !rm->fail_open;
        } else if (is_veto) {
            for (size_t k = 0; k < m->n && !denied; k++)
                if (relevant(m->rules[k].hook, want) && !m->rules[k].fail_open)
                    denied = true, id = m->rules[k].id;
        }
        eng_rule_error e = {.rule_id = id ? id : base_name(r->names[i]), .file = r->names[i], .line = err.line,
                            .hook = want, .message = strip_pos(err.msg, r->chunks[i].name), .error = err.msg,
                            .denied = denied};
        report(r, i, t, &e);
        if (denied && deny_id)
            *deny_id = e.rule_id;
        return rc;
    }
    json_object *out = eng__json_path(*holder, "out");
    *result = eng__json_path(out, "result");
    json_object *errs = eng__json_path(out, "errors");
    /* an empty Lua table comes back as {} */
    for (size_t k = 0; json_object_is_type(errs, json_type_array) && k < json_object_array_length(errs); k++) {
        json_object *o = json_object_array_get_idx(errs, k);
        eng_rule_error e = {.rule_id = eng__json_str(o, "id", "?"), .file = r->names[i],
                            .line = json_object_get_int(eng__json_path(o, "line")),
                            .hook = eng__json_str(o, "hook", want), .message = eng__json_str(o, "message", "?"),
                            .error = eng__json_str(o, "error", "?"),
                            .denied = json_object_get_boolean(eng__json_path(o, "denied"))};
        report(r, i, t, &e);
    }
    return 0;
}

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
        if (dispatch(r, i, t, "price", false, x, &holder, &res, NULL) == 0 && json_object_is_type(res, json_type_array)) {
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
    char want[80];
    snprintf(want, sizeof want, "boost:%s", hook ? hook : "");
    for (size_t i = 0; r && i < r->n; i++) {
        json_object *x = payload(t, "boost", hook), *holder, *res;
        json_object_object_add(x, "items", json_object_get(items));
        if (dispatch(r, i, t, want, false, x, &holder, &res, NULL) == 0 && json_object_is_type(res, json_type_array))
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
    char want[80];
    snprintf(want, sizeof want, "on:%s", hook ? hook : "");
    for (size_t i = 0; r && i < r->n; i++) {
        json_object *x = payload(t, "on", hook), *holder, *res, *veto = NULL, *cart;
        json_object_object_add(x, "action", json_object_get(action));
        /* the priced cart the commerce core refreshed before asking */
        if (json_object_object_get_ex(t->ctx, "cart", &cart))
            json_object_object_add(x, "cart", json_object_get(cart));
        const char *deny_id = NULL;
        int rc = dispatch(r, i, t, want, true, x, &holder, &res, &deny_id);
        if (rc == 0 && eng__json_str(res, "deny", NULL)) {
            veto = json_object_get(res);
            json_object_object_add(veto, "file", json_object_new_string(r->names[i]));
        } else if (rc < 0 && deny_id) {
            veto = json_object_new_object();
            json_object_object_add(veto, "deny", json_object_new_string(VETO_FAILED));
            json_object_object_add(veto, "id", json_object_new_string(deny_id));
            json_object_object_add(veto, "failed", json_object_new_boolean(1));
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
        if (dispatch(r, i, t, "cart", false, x, &holder, &res, NULL) == 0 && res) {
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
