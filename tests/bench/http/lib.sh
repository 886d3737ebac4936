# tests/bench/http/lib.sh — sourced by the HTTP benchmarks (run.sh,
# chat_mix.sh, search.sh) from the repository root: what they share.

# free_port: a free loopback TCP port
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null ||
              node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# nginx_ref DIR PORT: the reference every ratio is taken against, nginx
# serving a 209-byte JSON file (DIR/www/small.json) on 127.0.0.1:PORT
# with its own config, no logs, its pid in DIR/nginx.pid
nginx_ref() {
    mkdir -p "$1/www" "$1/ngx"; chmod 755 "$1" "$1/www"   # nginx workers run as nobody when started by root
    head -c 200 /dev/zero | tr '\0' 'x' | sed 's/^/{"a":"/;s/$/"}/' > "$1/www/small.json"
    cat > "$1/nginx.conf" <<NGX
worker_processes auto;
pid $1/nginx.pid;
error_log $1/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $1/ngx; proxy_temp_path $1/ngx; fastcgi_temp_path $1/ngx;
    uwsgi_temp_path $1/ngx; scgi_temp_path $1/ngx;
    server { listen 127.0.0.1:$2; root $1/www; keepalive_requests 100000; }
}
NGX
    "$(command -v nginx || echo /usr/sbin/nginx)" -c "$1/nginx.conf" -e "$1/nginx.err"
}
