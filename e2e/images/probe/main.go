// Command probe sends a bounded number of HTTP GETs to one URL: the smoke client and the traffic
// probe of the end-to-end suite.
//
// Without -csv it prints each answer's body and exits 1 at the first failure (a transport error or
// a status >= 400), like a loop of `curl -fsS`. With -csv it sends every request whatever happens and
// prints one line per request: sequence, start (ms since the first), latency (ms), status (0 for a
// transport error), then the body's first line or the error. Requests go out at -rate per second
// (each on its own, so a slow answer never slows the rate) or one after another when -rate is 0.
// SIGTERM or SIGINT stops sending: the requests in flight finish and are reported.
//
// With -csv, a first line `#begin,<unix ms>` says when request 1 started, so the rows line up with
// events seen elsewhere on the same machine. -ready D first sends a request every 100 ms for up to D
// until 10 in a row answer 200, and only then starts the recorded run: a new pod's first packets can
// be refused or dropped for a while (seen for up to 3 s) until the NetworkPolicy agent has admitted
// its address, which is the client's start-up, not the server's behaviour. Those tries are counted on
// stderr, never recorded as requests.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	maxRequests = 20000
	maxRate     = 200
	maxDuration = 120 * time.Second
	maxTimeout  = 30 * time.Second
)

type result struct {
	seq     int
	start   time.Duration
	latency time.Duration
	status  int
	answer  string
}

func main() {
	n := flag.Int("n", 5, "requests to send (at most 20000)")
	rate := flag.Float64("rate", 0, "requests per second (at most 200); 0 sends them one after another")
	timeout := flag.Duration("timeout", 5*time.Second, "each request's timeout")
	keepAlive := flag.Bool("keepalive", false, "reuse connections (default: a new connection per request)")
	csv := flag.Bool("csv", false, "one CSV line per request, and never stop early")
	ready := flag.Duration("ready", 0, "first wait until 10 requests in a row answer 200, for at most this long (at most 30s)")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: probe [flags] URL")
	}
	// Written so that NaN fails too.
	if !(*n >= 1 && *n <= maxRequests && *rate >= 0 && *rate <= maxRate && *timeout > 0 && *timeout <= maxTimeout && *ready >= 0 && *ready <= maxTimeout) {
		log.Fatalf("-n must be 1-%d, -rate 0-%d and -timeout above 0 and at most %s", maxRequests, maxRate, maxTimeout)
	}
	if *rate > 0 && float64(*n)/(*rate) > maxDuration.Seconds() {
		log.Fatalf("-n/-rate must be at most %s", maxDuration)
	}
	url := flag.Arg(0)
	client := &http.Client{
		Timeout:   *timeout,
		Transport: &http.Transport{DisableKeepAlives: !*keepAlive, MaxIdleConnsPerHost: 4},
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	if *ready > 0 {
		waitReady(client, url, *ready)
	}
	begin := time.Now()
	if *csv {
		fmt.Fprintf(out, "#begin,%d\n", begin.UnixMilli())
	}
	deadline := begin.Add(maxDuration)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	halted := false
	stopped := func() bool {
		select {
		case <-stop:
			halted = true
		default:
		}
		return halted
	}

	if *rate == 0 {
		for seq := 1; seq <= *n && time.Now().Before(deadline) && !stopped(); seq++ {
			r := get(client, url, seq, begin)
			if *csv {
				writeCSV(out, r)
				continue
			}
			if r.status == 0 || r.status >= 400 {
				out.Flush()
				fmt.Fprintf(os.Stderr, "probe: request %d: %s\n", seq, describe(r))
				os.Exit(1)
			}
			fmt.Fprintln(out, r.answer)
		}
		return
	}

	results := make([]result, 0, *n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / *rate)
	timer := time.NewTimer(0)
	sent := 0
send:
	for seq := 1; seq <= *n; seq++ {
		timer.Reset(time.Until(begin.Add(time.Duration(seq-1) * interval)))
		select {
		case <-timer.C:
		case <-stop:
			break send
		}
		sent++
		wg.Add(1)
		go func(seq int) {
			defer wg.Done()
			r := get(client, url, seq, begin)
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}(seq)
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].seq < results[j].seq })
	failed := 0
	for _, r := range results {
		if r.status == 0 || r.status >= 400 {
			failed++
		}
		if *csv {
			writeCSV(out, r)
		} else if r.status > 0 && r.status < 400 {
			fmt.Fprintln(out, r.answer)
		}
	}
	fmt.Fprintf(os.Stderr, "probe: %d requests, %d failed\n", sent, failed)
	if failed > 0 && !*csv {
		out.Flush()
		os.Exit(1)
	}
}

func get(client *http.Client, url string, seq int, begin time.Time) result {
	start := time.Now()
	r := result{seq: seq, start: start.Sub(begin)}
	resp, err := client.Get(url)
	if err != nil {
		r.latency, r.answer = time.Since(start), err.Error()
		return r
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	r.latency, r.status = time.Since(start), resp.StatusCode
	if err != nil {
		r.status, r.answer = 0, err.Error()
		return r
	}
	r.answer = strings.SplitN(strings.TrimSpace(string(body)), "\n", 2)[0]
	return r
}

// readyInARow is how many answers in a row -ready waits for.
const readyInARow = 10

// waitReady sends one request every 100 ms until readyInARow in a row answer 200 or `limit` passes,
// then says how many tries it took on stderr (exit 1 when the run of answers never came).
func waitReady(client *http.Client, url string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	streak := 0
	for tries := 1; ; tries++ {
		r := get(client, url, 0, time.Now())
		if r.status == http.StatusOK {
			streak++
		} else {
			streak = 0
		}
		if streak == readyInARow {
			fmt.Fprintf(os.Stderr, "probe: ready after %d tries\n", tries)
			return
		}
		if time.Now().After(deadline) {
			log.Fatalf("probe: not ready within %s (%d tries; last: %s)", limit, tries, describe(r))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func describe(r result) string {
	if r.status == 0 {
		return r.answer
	}
	return fmt.Sprintf("HTTP %d: %s", r.status, r.answer)
}

func writeCSV(out io.Writer, r result) {
	answer := strings.ReplaceAll(r.answer, `"`, `""`)
	fmt.Fprintf(out, "%d,%.1f,%.1f,%d,\"%s\"\n", r.seq, ms(r.start), ms(r.latency), r.status, answer)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
