// Command relay is the frontend of the end-to-end suite's stacks. It serves the frontend's nginx
// configuration as nginx would, for the three things it says: the `listen` port, the health
// location answered by the proxy itself, and `proxy_pass` (the backend Service's DNS name) for every
// other path, on a new connection each time, as nginx's proxy_pass does by default. On SIGTERM it
// stops accepting and finishes what is in flight.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"time"

	"bluegreen.local/images/internal/graceful"
)

var (
	listenLine = regexp.MustCompile(`(?m)^\s*listen\s+(\d+);`)
	healthLine = regexp.MustCompile(`(?m)^\s*location\s*=\s*(/\S*)\s*\{`)
	proxyLine  = regexp.MustCompile(`(?m)^\s*proxy_pass\s+(\S+);`)
)

type site struct {
	port    string
	health  string
	backend *url.URL
}

func readSite(path string) (site, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return site{}, err
	}
	text := string(raw)
	found := []*regexp.Regexp{listenLine, healthLine, proxyLine}
	values := make([]string, len(found))
	for i, re := range found {
		m := re.FindStringSubmatch(text)
		if m == nil {
			return site{}, fmt.Errorf("%s: no match for %s", path, re)
		}
		values[i] = m[1]
	}
	backend, err := url.Parse(values[2])
	if err != nil || backend.Scheme == "" || backend.Host == "" {
		return site{}, fmt.Errorf("%s: proxy_pass %q is not an absolute URL", path, values[2])
	}
	return site{port: values[0], health: values[1], backend: backend}, nil
}

func main() {
	config := flag.String("config", "/etc/nginx/conf.d/default.conf", "the nginx server block to serve")
	flag.Parse()
	s, err := readSite(*config)
	if err != nil {
		log.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(s.backend)
			r.SetXForwarded()
		},
		// A pooled connection keeps its conntrack entry, so it would stay on the old color after a cutover.
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			ResponseHeaderTimeout: 30 * time.Second,
			DisableKeepAlives:     true,
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc(s.health, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/", proxy)
	server := &http.Server{Addr: ":" + s.port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on :%s, health %s, passing to %s", s.port, s.health, s.backend)
	graceful.Serve(server)
}
