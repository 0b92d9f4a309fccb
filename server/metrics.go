package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus metrics.
type Metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	jobs        *prometheus.CounterVec
	extractions *prometheus.CounterVec
	tokens      *prometheus.CounterVec
	cost        prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "extractor_http_requests_total",
			Help: "HTTP requests by route, method and status code."}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "extractor_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}}, []string{"route"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "extractor_jobs_total",
			Help: "Jobs submitted, and finished by this process's workers, by event (submitted, succeeded, failed_attempt)."}, []string{"event"}),
		extractions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "extractor_extractions_total",
			Help: "Documents extracted, by path (sync, job) and status (ok, failed)."}, []string{"path", "status"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "extractor_llm_tokens_total",
			Help: "LLM tokens spent by extractions, by direction (input, output)."}, []string{"direction"}),
		cost: prometheus.NewCounter(prometheus.CounterOpts{Name: "extractor_llm_cost_usd_total",
			Help: "LLM cost of extractions in USD (models with a known price)."}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.jobs, m.extractions, m.tokens, m.cost,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) request(route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Job counts a job event: "submitted", "succeeded", "failed_attempt".
func (m *Metrics) Job(event string) { m.jobs.WithLabelValues(event).Inc() }

// Extraction counts an extracted document and what it spent.
func (m *Metrics) Extraction(path, status string, inputTokens, outputTokens int, costUSD float64) {
	m.extractions.WithLabelValues(path, status).Inc()
	m.tokens.WithLabelValues("input").Add(float64(inputTokens))
	m.tokens.WithLabelValues("output").Add(float64(outputTokens))
	if costUSD > 0 {
		m.cost.Add(costUSD)
	}
}

func promHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
