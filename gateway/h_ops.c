/* gateway/h_ops.c — what operators and tools read: /healthz (the process
 * answers), /readyz (the stores answer and a pipeline is loaded),
 * /metrics, /openapi.json and a self-contained /docs page rendering it. */
#include "gw_int.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

void gw__h_healthz(gw_req *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("ok"));
    json_object_object_add(o, "version", json_object_new_string(AISLE_VERSION));
    json_object_object_add(o, "uptimeS", json_object_new_int64(((int64_t)time(NULL) * 1000 - r->srv->started_ms) / 1000));
    gw__json(r, 200, o);
}

void gw__h_readyz(gw_req *r)
{
    store_err e = {0};
    int rc = store_ping(r->srv->st, &e);
    eng_pipeline *p = gw__pipeline(r->srv);
    json_object *o = json_object_new_object(), *st = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(rc == 0 && p ? "ready" : "unavailable"));
    json_object_object_add(st, "documents", json_object_new_string(store_backend_name(r->srv->st, 0)));
    json_object_object_add(st, "ephemeral", json_object_new_string(store_backend_name(r->srv->st, 1)));
    json_object_object_add(st, "ok", json_object_new_boolean(rc == 0));
    if (rc < 0)
        json_object_object_add(st, "error", json_object_new_string(e.msg));
    json_object_object_add(o, "stores", st);
    /* this process, and whether cart and trace events reach the others */
    json_object_object_add(o, "instance", json_object_new_string(r->srv->instance));
    json_object_object_add(o, "sharedEvents", json_object_new_boolean(atomic_load(&r->srv->ev_shared)));
    json_object_object_add(o, "pipeline", p ? json_object_new_string(eng_pipeline_name(p)) : NULL);
    if (p)
        eng_pipeline_release(p);
    gw__json(r, rc == 0 && p ? 200 : 503, o);
}

void gw__h_metrics(gw_req *r)
{
    char *t = gw__metrics_text(r->srv);
    if (!t) {
        gw__problem(r, 503, "unavailable", "Out of memory", NULL);
        return;
    }
    gw__reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", t, strlen(t), NULL);
    free(t);
}

void gw__h_openapi(gw_req *r)
{
    const char *d = gw_openapi();
    gw__reply(r, 200, "application/json", d, strlen(d), "Cache-Control: no-cache\r\n");
}

/* no CDN: the page renders the document with a few lines of script */
static const char docs_page[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>aisle API</title>"
    "<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}"
    "h2{border-bottom:1px solid #ddd;padding-bottom:.2em}.op{margin:1em 0;padding:.6em 1em;border:1px solid #e3e3e3;border-radius:6px}"
    ".m{display:inline-block;min-width:4.5em;font-weight:bold;font-family:monospace}.p{font-family:monospace}"
    ".d{color:#555;margin:.3em 0}code,pre{background:#f6f6f6;padding:1px 4px;border-radius:3px}"
    "pre{padding:.6em;overflow:auto;font-size:.85em}</style></head><body>"
    "<h1 id=\"t\">aisle API</h1><p id=\"i\"></p><div id=\"ops\"></div>"
    "<script>fetch('/openapi.json').then(r=>r.json()).then(doc=>{"
    "document.getElementById('t').textContent=doc.info.title+' '+doc.info.version;"
    "document.getElementById('i').textContent=doc.info.description||'';"
    "const ops=document.getElementById('ops');const byTag={};"
    "for(const [p,item] of Object.entries(doc.paths))for(const [m,op] of Object.entries(item)){"
    "if(typeof op!=='object'||!op.responses)continue;const t=(op.tags||['other'])[0];(byTag[t]=byTag[t]||[]).push([m,p,op]);}"
    "for(const [t,list] of Object.entries(byTag)){const h=document.createElement('h2');h.textContent=t;ops.appendChild(h);"
    "for(const [m,p,op] of list){const d=document.createElement('div');d.className='op';"
    "const head=document.createElement('div');head.innerHTML='<span class=m></span> <span class=p></span>';"
    "head.children[0].textContent=m.toUpperCase();head.children[1].textContent=p;d.appendChild(head);"
    "const s=document.createElement('div');s.className='d';s.textContent=(op.summary||'')+(op.description?' \\u2014 '+op.description:'');d.appendChild(s);"
    "const rs=document.createElement('div');rs.className='d';rs.textContent='Responses: '+Object.keys(op.responses).join(', ');d.appendChild(rs);"
    "ops.appendChild(d);}}}).catch(e=>{document.getElementById('i').textContent='Could not load /openapi.json: '+e;});"
    "</script></body></html>\n";

void gw__h_docs(gw_req *r)
{
    gw__reply(r, 200, "text/html; charset=utf-8", docs_page, sizeof docs_page - 1, NULL);
}
