// Command relay is the frontend of the end-to-end suite's stacks: it answers /healthz itself and
// passes every other request to BACKEND_URL (the backend Service's DNS name), as the project's nginx
// configuration does, on a new connection each time. On SIGTERM it stops accepting and finishes what
// is in flight.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", ":8080", "address and port to listen on")
	flag.Parse()
	backend, err := url.Parse(os.Getenv("BACKEND_URL"))
	if err != nil || backend.Scheme == "" || backend.Host == "" {
		log.Fatalf("BACKEND_URL must be an absolute URL, got %q", os.Getenv("BACKEND_URL"))
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(backend)
			r.SetXForwarded()
		},
		// A new connection per request, as nginx's proxy_pass does by default: a pooled connection
		// keeps its conntrack entry, so it would stay on the old color after a cutover.
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			ResponseHeaderTimeout: 30 * time.Second,
			DisableKeepAlives:     true,
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/", proxy)

	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := server.Shutdown(shutdown); err != nil {
			log.Printf("shutdown: %v", err)
		}
	}()
	log.Printf("listening on %s, passing to %s", *listen, backend)
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
