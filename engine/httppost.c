/* engine/httppost.c — one plain HTTP POST over libcurl, for the channels
 * that notify a partner's server (the ACP order webhooks in the gateway,
 * which may not include libcurl itself): no redirects, http and https
 * only, bounded time, the answer's body read and dropped. */
#include "eng_int.h"
#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    (void)p, (void)ud;
    return sz * n;
}

int eng_http_post(const char *url, const char *const *headers, const char *body, int timeout_ms, long *status)
{
    *status = -1;
    if (!url || !body || timeout_ms <= 0)
        return ENG_EINVAL;
    pthread_once(&once, init_once);
    CURL *h = curl_easy_init();
    if (!h)
        return ENG_ENOMEM;
    struct curl_slist *hd = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hd = curl_slist_append(hd, headers[i]);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 5000 ? timeout_ms : 5000));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return rc == CURLE_OK ? 0 : ENG_EIO;
}
