// Command echo answers every HTTP request with -text: the backend of the end-to-end suite's stacks.
//
// Its flags are http-echo's (-listen, -text, -status-code), so a stack written for that image runs
// unchanged. Two more paths serve the tests: /health answers 200 whatever the fault, and /fault turns
// the answer to errors or slowness at run time (PUT /fault?status=500&delay=2s; DELETE /fault clears it).
//
// ECHO_FAIL_AFTER=N, when set in its environment (a whole number, 0 or more), makes a version that
// breaks under real traffic: it answers its first N requests on other paths than /health and /fault
// as usual, then every further one with 500. A pre-switch check of a request or two passes; the
// traffic that follows the switch fails. Each process counts its own requests.
//
// On SIGTERM it stops accepting, finishes what is in flight and closes idle keep-alive connections.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"bluegreen.local/images/internal/graceful"
)

type fault struct {
	mu     sync.Mutex
	status int
	delay  time.Duration
}

func (f *fault) get() (int, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status, f.delay
}

func (f *fault) set(status int, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.delay = status, delay
}

// failAfter reads ECHO_FAIL_AFTER: how many answers go out before every one fails; -1 when unset.
func failAfter() int64 {
	raw, set := os.LookupEnv("ECHO_FAIL_AFTER")
	if !set {
		return -1
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		log.Fatalf("ECHO_FAIL_AFTER must be a whole number, 0 or more: %q", raw)
	}
	return n
}

func main() {
	listen := flag.String("listen", ":5678", "address and port to listen on")
	text := flag.String("text", "", "the answer's body (a newline is added)")
	statusCode := flag.Int("status-code", http.StatusOK, "the answer's status")
	flag.Parse()
	if *text == "" {
		log.Fatal("-text is required")
	}
	current := &fault{status: *statusCode}
	limit := failAfter()
	if limit >= 0 {
		log.Printf("ECHO_FAIL_AFTER=%d: every request after the first %d answers 500", limit, limit)
	}
	var served atomic.Int64

	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/fault", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut:
			status, err := strconv.Atoi(r.URL.Query().Get("status"))
			if err != nil || status < 100 || status > 599 {
				http.Error(w, "status: an HTTP status code, 100-599", http.StatusBadRequest)
				return
			}
			delay := time.Duration(0)
			if raw := r.URL.Query().Get("delay"); raw != "" {
				if delay, err = time.ParseDuration(raw); err != nil || delay < 0 || delay > time.Minute {
					http.Error(w, "delay: a Go duration, 0 to 1m", http.StatusBadRequest)
					return
				}
			}
			current.set(status, delay)
		case http.MethodDelete:
			current.set(*statusCode, 0)
		default:
			http.Error(w, "PUT or DELETE", http.StatusMethodNotAllowed)
			return
		}
		status, delay := current.get()
		fmt.Fprintf(w, "status=%d delay=%s\n", status, delay)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if limit >= 0 && served.Add(1) > limit {
			http.Error(w, fmt.Sprintf("failing: more than ECHO_FAIL_AFTER=%d requests", limit), http.StatusInternalServerError)
			return
		}
		status, delay := current.get()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, *text)
	})

	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on %s", *listen)
	graceful.Serve(server)
}
