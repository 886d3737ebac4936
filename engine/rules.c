/* engine/rules.c — merchandisers' business rules: Lua files that register
 * hooks (price, promo, cart_rule, buy_x_get_y, boost, on) which agents
 * call for prices, promotions, ranking and vetoes. Each file is compiled
 * once with a small prelude that defines the registration functions and
 * one dispatcher, and its top level is run once at load in a scratch
 * sandbox: a file that fails there (a runtime error, a forbidden global
 * such as io, a limit) is refused like a syntax error, so a broken file
 * never replaces a working one. For a hook, ONE Lua call runs the
 * dispatcher of every file (of every rules set: the pipeline's and the
 * agents') that has a rule for it, with a batch (all the products of a
 * search, a whole cart) converted once (eng__sandbox_call_each), so a
 * turn makes one Lua call per hook, not one per file or product, and none
 * for a hook without rules. Prices, boosts and cart discounts are kept
 * per rules version and input ("caches" below).
 *
 * A rule that fails is skipped, except a veto (on): a failing veto denies
 * its action unless it was registered fail_open. Every failure goes to
 * vars.ruleErrors, the trace note and the process-wide eng_on_rule_error
 * hook (the gateway's log line and metric). */
#include "rules_int.h"
#include <errno.h>
#include <stdatomic.h>
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
    /* __dispatch(x, o): x is the ctx the rules see (shared by every file
     * of the call), o what the call is about (event, hook, items, action,
     * cart, promoCode), read here and never through x, so that x tells
     * whether a rule looked at the turn. After its price rules a file
     * leaves each product's finalPrice and appliedRules as the next file
     * must find them. */
    "function __dispatch(x,o) local errs={} local seen={} local out={} local ev=o.event "
    "local function note(r,res) local e=seen[r] if e then return e end "
    "local m=type(res)=='string' and res or ('(error object is a '..type(res)..' value)') "
    "local ln,rest=string.match(m,'^.-:(%d+): (.*)$') "
    "e={id=r.id,error=m,message=rest or m,line=tonumber(ln) or r.line,hook=r.hook} "
    "seen[r]=e errs[#errs+1]=e return e end "
    "local function try(r,...) local ok,res=pcall(r.f,...) if not ok then note(r,res) return false end return true,res end "
    "if ev=='price' then local items=o.items for i,p in ipairs(items) do local cur=p.finalPrice or p.price local ap={} "
    "for _,r in ipairs(__r.price) do local ok,res=try(r,p,x) if ok then local ok2,nw=pcall(apply,cur,res) "
    "if not ok2 then note(r,nw) elseif nw~=cur then "
    "ap[#ap+1]={id=r.id,version=version,reason=res.reason,before=cur,after=nw} cur=nw end end end "
    "out[i]={finalPrice=cur,applied=ap} end "
    "for i,p in ipairs(items) do local f,a=out[i].finalPrice,p.appliedRules "
    "if math.type(f) and f==f and f~=math.huge and f~=-math.huge then p.finalPrice=f+0.0 end "
    "if type(a)=='table' then for _,e in ipairs(out[i].applied) do a[#a+1]=e end end end "
    "elseif ev=='boost' then for i,p in ipairs(o.items) do local m=1 "
    "for _,r in ipairs(__r.boost) do if r.ev==o.hook then local ok,res=try(r,p,x) "
    "if ok and type(res)=='number' and res>0 then m=m*res end end end out[i]=m end "
    "elseif ev=='on' then for _,r in ipairs(__r.on) do if r.ev==o.hook then local ok,res=try(r,o.action,x) "
    "if not ok then if not r.open then note(r).denied=true "
    "out={deny=\"" VETO_FAILED "\",id=r.id,version=version,failed=true} break end "
    "elseif type(res)=='table' and res.deny then "
    "out={deny=type(res.deny)=='string' and res.deny or 'not allowed',id=r.id,version=version} break end end end "
    "elseif ev=='cart' then local ds={} for _,r in ipairs(__r.cart) do local ok,res=try(r,o.cart,x) "
    "if ok and type(res)=='table' and type(res.amount)=='number' and res.amount>0 then "
    "ds[#ds+1]={id=r.id,version=version,reason=res.reason,amount=r2(res.amount)} end end "
    "local code=type(o.promoCode)=='string' and string.upper(o.promoCode) local pr=code and __r.promo[code] "
    "if pr then local ok,res=try(pr,o.cart,x) if ok and type(res)=='table' then "
    "local amt=type(res.amount)=='number' and res.amount or 0 "
    "if type(res.percent)=='number' then amt=o.cart.subtotal*res.percent/100 end if amt>0 then "
    "ds[#ds+1]={id=pr.id,version=version,reason=res.reason or code,amount=r2(amt),code=code} end "
    "if res.deny then out.promoDenied=tostring(res.deny) end end "
    "out.promoKnown=true end out.discounts=ds "
    "end return {result=out,errors=errs} end ";

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

/* The kinds of call whose results are cached (the caches below). */
enum { RC_PRICE, RC_CART, RC_BOOST, RC_KINDS };

struct eng_rules {
    eng_chunk *chunks;
    const char **names;
    file_meta *meta;
    size_t n;
    uint64_t id;                     /* unique per load: the rules' version in cache keys */
    atomic_uint deps[RC_KINDS];      /* what calls of that kind were seen to read of
                                        the turn (DEP_*, bits of `tracked`) */
};

static _Atomic uint64_t next_rules_id = 1;

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
    r->id = atomic_fetch_add(&next_rules_id, 1);
    for (int k = 0; k < RC_KINDS; k++)
        atomic_init(&r->deps[k], 0);
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
static void report(const char *file, eng_turn *t, const eng_rule_error *e)
{
    json_object *vars = eng__json_path(t->ctx, "vars");
    json_object *list = eng__json_path(vars, "ruleErrors");
    if (vars && !list) {
        list = json_object_new_array();
        ENG_JADD(vars, "ruleErrors", list);
    }
    if (list) {
        json_object *o = json_object_new_object();
        ENG_JADD(o, "id", json_object_new_string(e->rule_id));
        ENG_JADD(o, "file", json_object_new_string(file));
        ENG_JADD(o, "line", json_object_new_int(e->line));
        ENG_JADD(o, "hook", json_object_new_string(e->hook));
        if (t->stage)
            ENG_JADD(o, "stage", json_object_new_string(t->stage));
        ENG_JADD(o, "error", json_object_new_string(e->error));
        ENG_JADD(o, "message", json_object_new_string(e->message));
        if (e->denied)
            ENG_JADD(o, "denied", json_object_new_boolean(1));
        json_object_array_add(list, o);
    }
    eng__turn_note(t, "rule %s failed%s: %s", e->rule_id, e->denied ? " (action denied)" : "", e->error);
    emit(e);
}

/* The parts of the turn a rule sees in its ctx (the first N_SHARED), and
 * what the call is about that it may read there too ("items": the whole
 * batch). Reads of these are tracked, for the caches. */
static const char *const tracked[] = {"memory", "user", "session", "intent", "entities", "slots", "sessionId",
                                      "items", NULL};
#define N_SHARED 7
#define DEP_SHARED ((1u << N_SHARED) - 1)
#define DEP_ITEMS (1u << N_SHARED)
#define DEP_NEVER (1u << 31) /* read the batch, or drew a random number */

/* One call of a hook: the files of the rules sets given that have a rule
 * for it, in order (sets first to last, each set's files in order), all
 * run by ONE Lua call (eng__sandbox_call_each, each file's __dispatch in
 * turn, the arguments converted once), and what each file gave back. A
 * file that fails (an error outside its rules, a limit) is that file's
 * failure alone, as when each file had a call of its own. */
typedef struct hcall {
    eng_turn *t;
    const char *want; /* "price", "boost:search", "on:cart.add", "cart" */
    bool is_veto;
    size_t n;
    const eng_rules **set; /* per file: its set and its index there */
    size_t *idx;
    const eng_chunk **chunks;
    int *rc;              /* 0; < 0 failed; 1 not run (a veto denied before it) */
    eng_err *err;
    json_object **ret;    /* {result, errors} */
    const char **deny_id; /* veto: the rule a failed file denies for; NULL allows */
    uint32_t reads;       /* what a rule read of its ctx (bits of `tracked`), or
                             ENG_SANDBOX_RANDOM */
    size_t failures;      /* files and rules that failed */
} hcall;

/* 0 with hc->n files (0: nothing to run, nothing allocated) or ENG_ENOMEM. */
static int hcall_init(hcall *hc, const eng_rules *const *sets, size_t nsets, eng_turn *t, const char *want,
                      bool is_veto)
{
    memset(hc, 0, sizeof *hc);
    hc->t = t;
    hc->want = want;
    hc->is_veto = is_veto;
    size_t n = 0;
    for (size_t s = 0; s < nsets; s++)
        for (size_t k = 0; sets[s] && k < sets[s]->n; k++)
            n += has_rules(&sets[s]->meta[k], want);
    if (!n)
        return 0;
    if (!(hc->set = eng__pool_alloc(t->pool, n * sizeof *hc->set)) ||
        !(hc->idx = eng__pool_alloc(t->pool, n * sizeof *hc->idx)) ||
        !(hc->chunks = eng__pool_alloc(t->pool, n * sizeof *hc->chunks)) ||
        !(hc->rc = eng__pool_alloc(t->pool, n * sizeof *hc->rc)) ||
        !(hc->err = eng__pool_alloc(t->pool, n * sizeof *hc->err)) ||
        !(hc->ret = eng__pool_alloc(t->pool, n * sizeof *hc->ret)) ||
        !(hc->deny_id = eng__pool_alloc(t->pool, n * sizeof *hc->deny_id)))
        return ENG_ENOMEM;
    for (size_t s = 0; s < nsets; s++)
        for (size_t k = 0; sets[s] && k < sets[s]->n; k++)
            if (has_rules(&sets[s]->meta[k], want)) {
                hc->set[hc->n] = sets[s];
                hc->idx[hc->n] = k;
                hc->chunks[hc->n] = &sets[s]->chunks[k];
                hc->n++;
            }
    return 0;
}

/* The rule error of file i, which failed as a whole: blamed on a rule
 * where it can be. A veto denies unless that rule is fail_open (or,
 * unblamed, every rule of the hook is); *deny then names the rule. */
static void failed_file(const hcall *hc, size_t i, eng_rule_error *e, const char **deny)
{
    const eng_rules *r = hc->set[i];
    size_t k = hc->idx[i];
    const file_meta *m = &r->meta[k];
    const eng_err *err = &hc->err[i];
    const rule_meta *rm = blame(m, hc->want, err->line);
    bool denied = false;
    const char *id = rm ? rm->id : NULL;
    if (hc->is_veto && rm) {
        denied = !rm->fail_open;
    } else if (hc->is_veto) {
        for (size_t j = 0; j < m->n && !denied; j++)
            if (relevant(m->rules[j].hook, hc->want) && !m->rules[j].fail_open)
                denied = true, id = m->rules[j].id;
    }
    *e = (eng_rule_error){.rule_id = id ? id : base_name(r->names[k]), .file = r->names[k], .line = err->line,
                          .hook = hc->want, .message = strip_pos(err->msg, r->chunks[k].name),
                          .error = err->msg, .denied = denied};
    *deny = denied ? e->rule_id : NULL;
}

/* After each file of a veto call: stop at the first that denies. */
static bool veto_after(void *ud, size_t i, int rc, const eng_err *err, json_object *ret)
{
    (void)err;
    hcall *hc = ud;
    if (rc < 0) {
        eng_rule_error e;
        const char *deny;
        failed_file(hc, i, &e, &deny);
        return deny != NULL;
    }
    return eng__json_str(eng__json_path(ret, "result"), "deny", NULL) != NULL;
}

/* The one Lua call: ctx is what the rules see as their ctx (converted as
 * they read it), own what the call is about (converted up front). Then
 * every failure is reported, file by file. */
static void hcall_run(hcall *hc, json_object *ctx, json_object *own)
{
    eng_sandbox *sb = eng__sandbox_acquire();
    if (sb) {
        eng_sandbox_each e = {.chunks = hc->chunks, .n = hc->n, .fn = "__dispatch", .ctx = ctx, .own = own,
                              .track = tracked, .deadline_us = hc->t->deadline_us,
                              .after = hc->is_veto ? veto_after : NULL, .ud = hc};
        eng__sandbox_call_each(sb, &e, hc->rc, hc->err, hc->ret, &hc->reads);
    } else {
        for (size_t i = 0; i < hc->n; i++) {
            hc->ret[i] = NULL;
            hc->rc[i] = eng_err_set(&hc->err[i], ENG_ENOMEM, "%s: no Lua state (out of memory)",
                                    hc->set[i]->names[hc->idx[i]]);
        }
    }
    eng__sandbox_release(sb);
    for (size_t i = 0; i < hc->n; i++) {
        const char *file = hc->set[i]->names[hc->idx[i]];
        if (hc->rc[i] < 0) {
            eng_rule_error e;
            failed_file(hc, i, &e, &hc->deny_id[i]);
            report(file, hc->t, &e);
            hc->failures++;
            continue;
        }
        json_object *errs = eng__json_path(hc->ret[i], "errors");
        /* an empty Lua table comes back as {} */
        for (size_t k = 0; json_object_is_type(errs, json_type_array) && k < json_object_array_length(errs); k++) {
            json_object *o = json_object_array_get_idx(errs, k);
            eng_rule_error e = {.rule_id = eng__json_str(o, "id", "?"), .file = file,
                                .line = json_object_get_int(eng__json_path(o, "line")),
                                .hook = eng__json_str(o, "hook", hc->want), .message = eng__json_str(o, "message", "?"),
                                .error = eng__json_str(o, "error", "?"),
                                .denied = json_object_get_boolean(eng__json_path(o, "denied"))};
            report(file, hc->t, &e);
            hc->failures++;
        }
    }
}

/* What file i's dispatcher returned (borrowed), NULL when it did not run
 * or failed. */
static json_object *hcall_result(const hcall *hc, size_t i)
{
    return hc->rc[i] == 0 ? eng__json_path(hc->ret[i], "result") : NULL;
}

static void hcall_free(hcall *hc)
{
    for (size_t i = 0; i < hc->n; i++)
        json_object_put(hc->ret[i]);
}

/* The ctx a rule sees: the parts of the turn it may reason about
 * (borrowed references). What the call is about comes apart (own_new) and
 * reads through ctx too. */
static json_object *shared_ctx(eng_turn *t)
{
    json_object *x = json_object_new_object();
    for (size_t i = 0; i < N_SHARED; i++) {
        json_object *v;
        if (json_object_object_get_ex(t->ctx, tracked[i], &v))
            json_object_object_add(x, tracked[i], json_object_get(v));
    }
    return x;
}

static json_object *own_new(const char *event, const char *hook)
{
    json_object *o = json_object_new_object();
    ENG_JADD(o, "event", json_object_new_string(event));
    if (hook)
        ENG_JADD(o, "hook", json_object_new_string(hook));
    return o;
}

/* ------------------------------------------------------------- caches
 * What a price call gave each product, a boost call each product and a
 * cart call the cart, kept per rules version and input. The key holds the
 * ids of the rules sets (a new id at every load, so a reload never meets
 * an old entry), the whole input as the rules see it (the product card,
 * or the priced cart with the promotion code), so a product written in
 * any way (PUT, import, another process, stock after an order) is another
 * key, and the value of every part of the turn (ctx.user, ctx.memory...)
 * that calls of that kind were ever seen to read, so a rule that prices
 * by the shopper is kept per shopper. Rules are taken for what the docs
 * ask them to be, functions of what they are given: what a call gives
 * depends on nothing else. Not kept: a call with a failure (the next one
 * reports it again), and nothing for those rules once a call of that kind
 * read the whole batch (ctx.items) or drew a random number.
 * Four ways a set, the least recently used replaced; a lock per stripe
 * of sets. */

#define PRICE_SLOTS 4096
#define CART_SLOTS 1024
#define BOOST_SLOTS 4096
#define CACHE_WAYS 4
#define CACHE_LOCKS 16
/* a longer key (a product's whole description, or a rule that reads
 * ctx.session, which changes every turn) is not kept: it bounds what an
 * entry holds */
#define KEY_MAX 4096

typedef struct centry {
    uint64_t h;
    uint64_t used; /* when last found or kept: the least recent goes */
    char *key;     /* NULL: empty */
    size_t klen;
    double fp;        /* price: the finalPrice the rules left, when fp_set;
                         boost: the product of the boosts */
    bool fp_set;
    bool known;       /* cart: a file knows the promotion code */
    json_object *val; /* price: what the rules appended to appliedRules; cart:
                         the discounts; the cache's own copy; NULL: none */
    char *denied;     /* cart: why the code was refused */
} centry;

typedef struct rcache {
    centry *slots;
    size_t n; /* slots: n / CACHE_WAYS sets */
    _Atomic uint64_t clock;
    pthread_mutex_t mu[CACHE_LOCKS];
} rcache;

static rcache caches[RC_KINDS];
static pthread_once_t caches_once = PTHREAD_ONCE_INIT;

static void caches_init(void)
{
    for (int k = 0; k < RC_KINDS; k++) {
        rcache *c = &caches[k];
        for (int i = 0; i < CACHE_LOCKS; i++)
            pthread_mutex_init(&c->mu[i], NULL);
        c->n = k == RC_PRICE ? PRICE_SLOTS : k == RC_BOOST ? BOOST_SLOTS : CART_SLOTS;
        atomic_init(&c->clock, 1);
        c->slots = eng__calloc(c->n, sizeof *c->slots);
    }
}

static void centry_free(centry *e)
{
    eng__free(e->key);
    json_object_put(e->val);
    eng__free(e->denied);
}

/* A cache key: the rules' version, `extra`, the parts of the turn the
 * rules read and the value they are given, written as tagged binary (a
 * double's bits, not its text: this is on every card of every search),
 * at off..off+n of a buffer. */
typedef struct ckey {
    size_t off, n;
    uint64_t h;
    bool ok;
} ckey;

static void key_u32(eng_buf *b, size_t n)
{
    uint32_t v = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    eng__buf_add(b, (const char *)&v, sizeof v);
}

static bool key_value(eng_buf *b, json_object *v, int depth)
{
    if (depth > 32)
        return false;
    switch (json_object_get_type(v)) {
    case json_type_null:
        eng__buf_addc(b, 'n');
        break;
    case json_type_boolean:
        eng__buf_addc(b, json_object_get_boolean(v) ? 't' : 'f');
        break;
    case json_type_int: {
        int64_t i = json_object_get_int64(v);
        eng__buf_addc(b, 'i');
        eng__buf_add(b, (const char *)&i, sizeof i);
        break;
    }
    case json_type_double: {
        double d = json_object_get_double(v);
        eng__buf_addc(b, 'd');
        eng__buf_add(b, (const char *)&d, sizeof d);
        break;
    }
    case json_type_string: {
        size_t n = (size_t)json_object_get_string_len(v);
        eng__buf_addc(b, 's');
        key_u32(b, n);
        eng__buf_add(b, json_object_get_string(v), n);
        break;
    }
    case json_type_array: {
        size_t n = json_object_array_length(v);
        eng__buf_addc(b, '[');
        key_u32(b, n);
        for (size_t i = 0; i < n; i++)
            if (!key_value(b, json_object_array_get_idx(v, i), depth + 1))
                return false;
        break;
    }
    case json_type_object: {
        eng__buf_addc(b, '{');
        key_u32(b, (size_t)json_object_object_length(v));
        json_object_object_foreach(v, k, val) {
            size_t kl = strlen(k);
            key_u32(b, kl);
            eng__buf_add(b, k, kl);
            if (!key_value(b, val, depth + 1))
                return false;
        }
        break;
    }
    }
    return !b->oom;
}

static uint64_t key_hash(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 32);
}

/* What every key of one call starts with, into b: the rules' version,
 * `extra` and the value of each part of the turn in `deps`. */
static void key_prefix(eng_buf *b, const eng_rules *const *sets, size_t nsets, const char *extra, eng_turn *t,
                       uint32_t deps)
{
    for (size_t s = 0; s < nsets; s++)
        if (sets[s])
            eng__buf_printf(b, "%llu.", (unsigned long long)sets[s]->id);
    eng__buf_addc(b, '\n');
    if (extra)
        eng__buf_adds(b, extra);
    eng__buf_addc(b, '\n');
    for (size_t i = 0; i < N_SHARED; i++) {
        json_object *v;
        if (!(deps & (1u << i)))
            continue;
        eng__buf_addc(b, (char)('A' + i));
        if (json_object_object_get_ex(t->ctx, tracked[i], &v)) {
            if (!key_value(b, v, 0))
                b->oom = true; /* too deep: no key */
        } else {
            eng__buf_addc(b, 'x');
        }
    }
    eng__buf_addc(b, '\n');
}

static void key_done(eng_buf *b, ckey *k, bool ok)
{
    k->n = b->len - k->off;
    k->ok = ok && !b->oom && k->n <= KEY_MAX;
    k->h = k->ok ? key_hash(b->data + k->off, k->n) : 0;
}

/* The key of input v: the prefix pb, then v, appended to b. */
static void make_key(eng_buf *b, const eng_buf *pb, json_object *v, ckey *k)
{
    k->off = b->len;
    eng__buf_add(b, pb->data, pb->len);
    key_done(b, k, !pb->oom && key_value(b, v, 0));
}

/* The keys of a call again, under a new prefix (the rules read more of
 * the turn than was known): each key's input part, after the old prefix
 * of oplen bytes in ob, now after the prefix pb, in b. */
static void rekey(eng_buf *b, const eng_buf *ob, size_t oplen, const eng_buf *pb, ckey *keys, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (!keys[k].ok)
            continue;
        size_t off = b->len;
        eng__buf_add(b, pb->data, pb->len);
        eng__buf_add(b, ob->data + keys[k].off + oplen, keys[k].n - oplen);
        keys[k].off = off;
        key_done(b, &keys[k], !pb->oom);
    }
}

static uint32_t sets_deps(const eng_rules *const *sets, size_t nsets, int kind)
{
    uint32_t d = 0;
    for (size_t s = 0; s < nsets; s++)
        if (sets[s])
            d |= atomic_load_explicit(&sets[s]->deps[kind], memory_order_relaxed);
    return d;
}

/* What a call of `kind` read (hc->reads) joins what those rules sets are
 * known to read; returns the new whole. */
static uint32_t sets_add_deps(const eng_rules *const *sets, size_t nsets, int kind, uint32_t reads)
{
    uint32_t d = reads & DEP_SHARED;
    if (reads & (DEP_ITEMS | ENG_SANDBOX_RANDOM))
        d |= DEP_NEVER;
    for (size_t s = 0; d && s < nsets; s++)
        if (sets[s])
            atomic_fetch_or_explicit(&((eng_rules *)sets[s])->deps[kind], d, memory_order_relaxed);
    return sets_deps(sets, nsets, kind) | d;
}

/* The set of key k: its first slot; *mu its lock. */
static centry *set_of(rcache *c, const ckey *k, pthread_mutex_t **mu)
{
    size_t set = (size_t)(k->h % (c->n / CACHE_WAYS));
    *mu = &c->mu[set % CACHE_LOCKS];
    return &c->slots[set * CACHE_WAYS];
}

static bool same_key(const centry *e, const ckey *k, const char *kp)
{
    return e->key && e->h == k->h && e->klen == k->n && memcmp(e->key, kp, k->n) == 0;
}

/* A copy of the entry for key k (bytes at kp): val a deep copy the
 * caller puts, denied in `pool`; or false. */
static bool cache_get(int kind, const ckey *k, const char *kp, eng_pool *pool, centry *out)
{
    pthread_once(&caches_once, caches_init);
    rcache *c = &caches[kind];
    memset(out, 0, sizeof *out);
    if (!c->slots || !k->ok)
        return false;
    pthread_mutex_t *mu;
    centry *set = set_of(c, k, &mu);
    bool hit = false;
    pthread_mutex_lock(mu);
    for (int w = 0; w < CACHE_WAYS && !hit; w++) {
        centry *e = &set[w];
        if (!same_key(e, k, kp))
            continue;
        e->used = atomic_fetch_add_explicit(&c->clock, 1, memory_order_relaxed);
        *out = *e;
        out->key = NULL;
        out->val = NULL;
        out->denied = e->denied ? eng__pool_strdup(pool, e->denied) : NULL;
        /* the cache's tree is never changed once in: reading it to copy
         * is safe beside other readers */
        hit = (!e->val || json_object_deep_copy(e->val, &out->val, NULL) == 0) && (!e->denied || out->denied);
    }
    pthread_mutex_unlock(mu);
    if (!hit) {
        json_object_put(out->val);
        out->val = NULL;
    }
    return hit;
}

/* Keep v for key k (bytes at kp): its val deep-copied, denied copied;
 * nothing when out of memory. */
static void cache_put(int kind, const ckey *k, const char *kp, const centry *v)
{
    pthread_once(&caches_once, caches_init);
    rcache *c = &caches[kind];
    if (!c->slots || !k->ok)
        return;
    centry nv = *v;
    nv.h = k->h;
    nv.klen = k->n;
    nv.key = eng__strndup(kp, k->n);
    nv.val = NULL;
    nv.denied = v->denied ? eng__strdup(v->denied) : NULL;
    if (!nv.key || (v->val && json_object_deep_copy(v->val, &nv.val, NULL) != 0) || (v->denied && !nv.denied)) {
        centry_free(&nv);
        return;
    }
    pthread_mutex_t *mu;
    centry *set = set_of(c, k, &mu);
    pthread_mutex_lock(mu);
    nv.used = atomic_fetch_add_explicit(&c->clock, 1, memory_order_relaxed);
    /* the same key again (another thread priced it too), else an empty
     * way, else the least recently used */
    centry *slot = NULL;
    for (int w = 0; w < CACHE_WAYS && !slot; w++)
        if (same_key(&set[w], k, kp))
            slot = &set[w];
    for (int w = 0; w < CACHE_WAYS && !slot; w++)
        if (!set[w].key)
            slot = &set[w];
    if (!slot) {
        slot = &set[0];
        for (int w = 1; w < CACHE_WAYS; w++)
            if (set[w].used < slot->used)
                slot = &set[w];
    }
    centry old = *slot;
    *slot = nv;
    pthread_mutex_unlock(mu);
    centry_free(&old);
}

void eng__rules_cache_clear(void)
{
    pthread_once(&caches_once, caches_init);
    for (int kind = 0; kind < RC_KINDS; kind++) {
        rcache *c = &caches[kind];
        for (size_t s = 0; c->slots && s < c->n; s++) {
            pthread_mutex_t *mu = &c->mu[(s / CACHE_WAYS) % CACHE_LOCKS];
            pthread_mutex_lock(mu);
            centry old = c->slots[s];
            memset(&c->slots[s], 0, sizeof c->slots[s]);
            pthread_mutex_unlock(mu);
            centry_free(&old);
        }
    }
}

/* ------------------------------------------------------------- the hooks */

/* The cache side of one call over a batch (cards to price or boost, or
 * one cart): which inputs the cache knew, the keys of the others, and
 * what the rules were known to read when they were made. */
typedef struct cached_call {
    bool use;
    int kind;
    uint32_t deps;
    eng_buf pb, kb; /* the keys' prefix; the keys */
    ckey *keys;     /* per input left to run */
} cached_call;

static void cc_begin(cached_call *cc, int kind, bool cache, const eng_rules *const *sets, size_t nsets,
                     const char *extra, eng_turn *t, size_t n)
{
    memset(cc, 0, sizeof *cc);
    cc->kind = kind;
    eng__buf_init(&cc->pb);
    eng__buf_init(&cc->kb);
    cc->deps = cache ? sets_deps(sets, nsets, kind) : DEP_NEVER;
    if (cc->deps & DEP_NEVER)
        return;
    cc->keys = eng__pool_alloc(t->pool, (n ? n : 1) * sizeof *cc->keys);
    key_prefix(&cc->pb, sets, nsets, extra, t, cc->deps);
    cc->use = cc->keys && !cc->pb.oom && cc->pb.len <= KEY_MAX;
}

/* Whether the cache knows input v: *e then holds what it keeps;
 * otherwise v's key goes in slot `at`. */
static bool cc_lookup(cached_call *cc, json_object *v, size_t at, eng_turn *t, centry *e)
{
    make_key(&cc->kb, &cc->pb, v, &cc->keys[at]);
    if (!cache_get(cc->kind, &cc->keys[at], cc->kb.data + cc->keys[at].off, t->pool, e))
        return false;
    cc->kb.len = cc->keys[at].off; /* not needed again */
    return true;
}

/* After the call: whether what it gave the m inputs left may be kept
 * (the keys fixed up when the rules read more of the turn than was
 * known). */
static bool cc_keep(cached_call *cc, const hcall *hc, const eng_rules *const *sets, size_t nsets,
                    const char *extra, size_t m)
{
    if (cc->deps & DEP_NEVER)
        return false;
    uint32_t now = sets_add_deps(sets, nsets, cc->kind, hc->reads);
    if (!cc->use || (now & DEP_NEVER) || hc->failures || cc->kb.oom)
        return false;
    if (now != cc->deps) {
        eng_buf pb, kb;
        eng__buf_init(&pb);
        eng__buf_init(&kb);
        key_prefix(&pb, sets, nsets, extra, hc->t, now);
        rekey(&kb, &cc->kb, cc->pb.len, &pb, cc->keys, m);
        eng__buf_free(&cc->pb);
        eng__buf_free(&cc->kb);
        cc->pb = pb;
        cc->kb = kb;
        cc->deps = now;
    }
    return !cc->kb.oom;
}

static void cc_put(cached_call *cc, size_t at, const centry *e)
{
    cache_put(cc->kind, &cc->keys[at], cc->kb.data + cc->keys[at].off, e);
}

static void cc_end(cached_call *cc)
{
    eng__buf_free(&cc->pb);
    eng__buf_free(&cc->kb);
}

/* A cached price onto card c: the finalPrice and the appliedRules the
 * rules gave the same card (e->val is the caller's copy: taken). */
static void price_from_cache(json_object *c, const centry *e)
{
    if (e->fp_set)
        ENG_JADD(c, "finalPrice", json_object_new_double(e->fp));
    json_object *dst = eng__json_path(c, "appliedRules");
    for (size_t j = 0; dst && json_object_is_type(e->val, json_type_array) && j < json_object_array_length(e->val); j++)
        json_object_array_add(dst, json_object_get(json_object_array_get_idx(e->val, j)));
    json_object_put(e->val);
}

/* What a card holds before its rules run: finalPrice = price, no
 * appliedRules (part of the cache's key). */
static void price_defaults(json_object *cards, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        json_object *c = json_object_array_get_idx(cards, k);
        json_object *fp;
        if (!json_object_object_get_ex(c, "finalPrice", &fp))
            ENG_JADD(c, "finalPrice", json_object_get(json_object_object_get(c, "price")));
        if (!json_object_object_get_ex(c, "appliedRules", &fp))
            ENG_JADD(c, "appliedRules", json_object_new_array());
    }
}

/* A product page or a search's cards priced by rules that read only the
 * card: the key needs nothing of a turn, so none is built (building and
 * freeing one was two thirds of pricing a kept card). All or nothing: a
 * card not kept sends the whole batch through eng__rules_price_sets, so
 * a rule that reads ctx.items still sees every card. */
bool eng__rules_price_kept(const eng_rules *const *sets, size_t nsets, json_object *cards)
{
    size_t n = json_object_array_length(cards), files = 0, k;
    for (size_t s = 0; s < nsets; s++)
        for (size_t f = 0; sets[s] && f < sets[s]->n; f++)
            files += has_rules(&sets[s]->meta[f], "price");
    price_defaults(cards, n);
    if (!files || !n)
        return true;
    if (sets_deps(sets, nsets, RC_PRICE) != 0)
        return false;   /* the key would need the turn (or nothing is kept) */
    eng_buf pb, kb;
    eng__buf_init(&pb);
    eng__buf_init(&kb);
    ckey *keys = eng__calloc(n, sizeof *keys);
    centry *got = eng__calloc(n, sizeof *got);
    key_prefix(&pb, sets, nsets, NULL, NULL, 0);
    for (k = 0; keys && got && !pb.oom && k < n; k++) {
        make_key(&kb, &pb, json_object_array_get_idx(cards, k), &keys[k]);
        if (!cache_get(RC_PRICE, &keys[k], kb.data + keys[k].off, NULL, &got[k]))
            break;
    }
    bool all = keys && got && k == n;
    for (size_t i = 0; got && i < k; i++) {
        if (all)
            price_from_cache(json_object_array_get_idx(cards, i), &got[i]);   /* takes val */
        else
            json_object_put(got[i].val);
    }
    eng__free(keys);
    eng__free(got);
    eng__buf_free(&pb);
    eng__buf_free(&kb);
    return all;
}

int eng__rules_price_sets(const eng_rules *const *sets, size_t nsets, eng_turn *t, json_object *cards, bool cache)
{
    size_t n = json_object_array_length(cards);
    price_defaults(cards, n);
    hcall hc;
    int rc = hcall_init(&hc, sets, nsets, t, "price", false);
    if (rc < 0 || hc.n == 0 || n == 0)
        return rc < 0 ? rc : 0;
    /* the cards to run the rules on: those the cache does not know */
    cached_call cc;
    cc_begin(&cc, RC_PRICE, cache, sets, nsets, NULL, t, n);
    json_object *todo = cards;
    size_t *before = NULL;
    if (cc.use) {
        before = eng__pool_alloc(t->pool, n * sizeof *before);
        todo = before ? json_object_new_array_ext((int)n) : NULL;
        cc.use = todo != NULL;
        for (size_t k = 0; cc.use && k < n; k++) {
            json_object *c = json_object_array_get_idx(cards, k);
            size_t at = json_object_array_length(todo);
            centry e;
            if (cc_lookup(&cc, c, at, t, &e)) {
                price_from_cache(c, &e);
                continue;
            }
            before[at] = json_object_array_length(eng__json_path(c, "appliedRules"));
            json_object_array_add(todo, json_object_get(c));
        }
        if (!todo) {
            todo = cards;
        } else if (json_object_array_length(todo) == 0) {
            json_object_put(todo);
            cc_end(&cc);
            return 0;
        }
    }
    size_t m = json_object_array_length(todo);
    json_object *ctx = shared_ctx(t), *own = own_new("price", NULL);
    /* some came from the cache: a rule that looks at ctx.items still sees
     * every product of the call */
    if (m < n)
        ENG_JADD(ctx, "items", json_object_get(cards));
    ENG_JADD(own, "items", json_object_get(todo));
    hcall_run(&hc, ctx, own);
    bool *fp_set = eng__pool_alloc(t->pool, (m + 1) * sizeof *fp_set);
    for (size_t i = 0; i < hc.n; i++) {
        json_object *res = hcall_result(&hc, i);
        if (!json_object_is_type(res, json_type_array))
            continue;
        for (size_t k = 0; k < m && k < json_object_array_length(res); k++) {
            json_object *c = json_object_array_get_idx(todo, k), *o = json_object_array_get_idx(res, k);
            json_object *fp = eng__json_path(o, "finalPrice"), *ap = eng__json_path(o, "applied");
            if (fp && (json_object_is_type(fp, json_type_double) || json_object_is_type(fp, json_type_int))) {
                ENG_JADD(c, "finalPrice", json_object_new_double(json_object_get_double(fp)));
                if (fp_set)
                    fp_set[k] = true;
            }
            json_object *dst = eng__json_path(c, "appliedRules");
            if (ap && !json_object_is_type(ap, json_type_array))
                ap = NULL;
            for (size_t j = 0; ap && j < json_object_array_length(ap); j++)
                json_object_array_add(dst, json_object_get(json_object_array_get_idx(ap, j)));
        }
    }
    if (cc_keep(&cc, &hc, sets, nsets, NULL, m) && fp_set) {
        for (size_t k = 0; k < m; k++) {
            json_object *c = json_object_array_get_idx(todo, k), *dst = eng__json_path(c, "appliedRules");
            centry e = {.fp_set = fp_set[k], .fp = json_object_get_double(eng__json_path(c, "finalPrice"))};
            size_t len = json_object_array_length(dst);
            json_object *added = len > before[k] ? json_object_new_array_ext((int)(len - before[k])) : NULL;
            for (size_t j = before[k]; added && j < len; j++)
                json_object_array_add(added, json_object_get(json_object_array_get_idx(dst, j)));
            e.val = added;
            if (added || len <= before[k])
                cc_put(&cc, k, &e);
            json_object_put(added);
        }
    }
    cc_end(&cc);
    hcall_free(&hc);
    json_object_put(ctx);
    json_object_put(own);
    if (todo != cards)
        json_object_put(todo);
    return 0;
}

int eng__rules_boost_sets(const eng_rules *const *sets, size_t nsets, eng_turn *t, const char *hook,
                          json_object *items, double *mult, bool cache)
{
    size_t n = json_object_array_length(items);
    for (size_t k = 0; k < n; k++)
        mult[k] = 1.0;
    char want[80];
    snprintf(want, sizeof want, "boost:%s", hook ? hook : "");
    hcall hc;
    int rc = hcall_init(&hc, sets, nsets, t, want, false);
    if (rc < 0 || hc.n == 0 || n == 0)
        return rc < 0 ? rc : 0;
    cached_call cc;
    cc_begin(&cc, RC_BOOST, cache, sets, nsets, want, t, n);
    json_object *todo = items;
    size_t *idx = NULL; /* todo's k-th is items' idx[k]-th */
    if (cc.use) {
        idx = eng__pool_alloc(t->pool, n * sizeof *idx);
        todo = idx ? json_object_new_array_ext((int)n) : NULL;
        cc.use = todo != NULL;
        for (size_t k = 0; cc.use && k < n; k++) {
            json_object *c = json_object_array_get_idx(items, k);
            size_t at = json_object_array_length(todo);
            centry e;
            if (cc_lookup(&cc, c, at, t, &e)) {
                mult[k] = e.fp;
                continue;
            }
            idx[at] = k;
            json_object_array_add(todo, json_object_get(c));
        }
        if (!todo) {
            todo = items;
            idx = NULL;
        } else if (json_object_array_length(todo) == 0) {
            json_object_put(todo);
            cc_end(&cc);
            return 0;
        }
    }
    size_t m = json_object_array_length(todo);
    json_object *ctx = shared_ctx(t), *own = own_new("boost", hook);
    if (m < n)
        ENG_JADD(ctx, "items", json_object_get(items));
    ENG_JADD(own, "items", json_object_get(todo));
    hcall_run(&hc, ctx, own);
    for (size_t i = 0; i < hc.n; i++) {
        json_object *res = hcall_result(&hc, i);
        if (!json_object_is_type(res, json_type_array))
            continue;
        for (size_t k = 0; k < m && k < json_object_array_length(res); k++) {
            double v = json_object_get_double(json_object_array_get_idx(res, k));
            if (isfinite(v) && v > 0)
                mult[idx ? idx[k] : k] *= v;
        }
    }
    if (cc_keep(&cc, &hc, sets, nsets, want, m))
        for (size_t k = 0; k < m; k++) {
            centry e = {.fp = mult[idx ? idx[k] : k]};
            cc_put(&cc, k, &e);
        }
    cc_end(&cc);
    hcall_free(&hc);
    json_object_put(ctx);
    json_object_put(own);
    if (todo != items)
        json_object_put(todo);
    return 0;
}

json_object *eng__rules_veto_sets(const eng_rules *const *sets, size_t nsets, eng_turn *t, const char *hook,
                                  json_object *action)
{
    char want[80];
    snprintf(want, sizeof want, "on:%s", hook ? hook : "");
    hcall hc;
    json_object *veto = NULL;
    if (hcall_init(&hc, sets, nsets, t, want, true) < 0) {
        /* out of memory: the vetoes could not run, so they deny */
        veto = json_object_new_object();
        ENG_JADD(veto, "deny", json_object_new_string(VETO_FAILED));
        ENG_JADD(veto, "id", json_object_new_string(want));
        ENG_JADD(veto, "failed", json_object_new_boolean(1));
        return veto;
    }
    if (hc.n == 0)
        return NULL;
    json_object *ctx = shared_ctx(t), *own = own_new("on", hook), *cart;
    ENG_JADD(own, "action", json_object_get(action));
    /* the priced cart the commerce core refreshed before asking */
    if (json_object_object_get_ex(t->ctx, "cart", &cart))
        ENG_JADD(own, "cart", json_object_get(cart));
    hcall_run(&hc, ctx, own);
    for (size_t i = 0; i < hc.n && !veto; i++) {
        const char *file = hc.set[i]->names[hc.idx[i]];
        json_object *res = hcall_result(&hc, i);
        if (eng__json_str(res, "deny", NULL)) {
            veto = json_object_get(res);
            ENG_JADD(veto, "file", json_object_new_string(file));
        } else if (hc.rc[i] < 0 && hc.deny_id[i]) {
            veto = json_object_new_object();
            ENG_JADD(veto, "deny", json_object_new_string(VETO_FAILED));
            ENG_JADD(veto, "id", json_object_new_string(hc.deny_id[i]));
            ENG_JADD(veto, "failed", json_object_new_boolean(1));
            ENG_JADD(veto, "file", json_object_new_string(file));
        }
    }
    hcall_free(&hc);
    json_object_put(ctx);
    json_object_put(own);
    return veto;
}

json_object *eng__rules_cart_sets(const eng_rules *const *sets, size_t nsets, eng_turn *t, json_object *cart,
                                  const char *promo_code, bool *promo_known, const char **promo_denied, bool cache)
{
    json_object *all = json_object_new_array();
    *promo_known = false;
    if (promo_denied)
        *promo_denied = NULL;
    hcall hc;
    if (hcall_init(&hc, sets, nsets, t, "cart", false) < 0 || hc.n == 0)
        return all;
    const char *code = promo_code ? promo_code : "";
    cached_call cc;
    cc_begin(&cc, RC_CART, cache, sets, nsets, code, t, 1);
    centry e;
    if (cc.use && cc_lookup(&cc, cart, 0, t, &e)) {
        for (size_t k = 0; json_object_is_type(e.val, json_type_array) && k < json_object_array_length(e.val); k++)
            json_object_array_add(all, json_object_get(json_object_array_get_idx(e.val, k)));
        json_object_put(e.val);
        *promo_known = e.known;
        if (promo_denied)
            *promo_denied = e.denied;
        cc_end(&cc);
        return all;
    }
    json_object *ctx = shared_ctx(t), *own = own_new("cart", NULL);
    ENG_JADD(own, "cart", json_object_get(cart));
    if (promo_code)
        ENG_JADD(own, "promoCode", json_object_new_string(promo_code));
    hcall_run(&hc, ctx, own);
    /* a refusal: the last file's of a set, the first set's that has one */
    const eng_rules *cur = NULL;
    const char *set_denied = NULL, *denied = NULL;
    for (size_t i = 0; i < hc.n; i++) {
        if (hc.set[i] != cur) {
            if (set_denied && !denied)
                denied = set_denied;
            cur = hc.set[i];
            set_denied = NULL;
        }
        json_object *res = hcall_result(&hc, i);
        if (!res)
            continue;
        json_object *ds = eng__json_path(res, "discounts");
        if (ds && !json_object_is_type(ds, json_type_array))
            ds = NULL;
        for (size_t k = 0; ds && k < json_object_array_length(ds); k++)
            json_object_array_add(all, json_object_get(json_object_array_get_idx(ds, k)));
        json_object *pk = eng__json_path(res, "promoKnown");
        if (pk && json_object_get_boolean(pk))
            *promo_known = true;
        const char *dn = eng__json_str(res, "promoDenied", NULL);
        if (dn)
            set_denied = eng__pool_strdup(t->pool, dn);
    }
    if (set_denied && !denied)
        denied = set_denied;
    if (promo_denied)
        *promo_denied = denied;
    if (cc_keep(&cc, &hc, sets, nsets, code, 1)) {
        centry v = {.known = *promo_known, .denied = (char *)denied, .val = json_object_array_length(all) ? all : NULL};
        cc_put(&cc, 0, &v);
    }
    cc_end(&cc);
    hcall_free(&hc);
    json_object_put(ctx);
    json_object_put(own);
    return all;
}

/* One rules set, uncached: the dry-run and the tests. */
int eng__rules_price(const eng_rules *r, eng_turn *t, json_object *cards)
{
    return eng__rules_price_sets(&r, r ? 1 : 0, t, cards, false);
}

int eng__rules_boost(const eng_rules *r, eng_turn *t, const char *hook, json_object *items, double *mult)
{
    return eng__rules_boost_sets(&r, r ? 1 : 0, t, hook, items, mult, false);
}

json_object *eng__rules_veto(const eng_rules *r, eng_turn *t, const char *hook, json_object *action)
{
    return eng__rules_veto_sets(&r, r ? 1 : 0, t, hook, action);
}

json_object *eng__rules_cart(const eng_rules *r, eng_turn *t, json_object *cart, const char *promo_code,
                             bool *promo_known, const char **promo_denied)
{
    return eng__rules_cart_sets(&r, r ? 1 : 0, t, cart, promo_code, promo_known, promo_denied, false);
}
