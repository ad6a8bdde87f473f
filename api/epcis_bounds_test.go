package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/primum-health/primum/wire"
)

// TestCaptureJobsAreBounded: finished jobs are forgotten after
// captureJobTTL, the oldest finished first once maxCaptureJobs are kept,
// and a new job is refused only while every kept job still runs.
func TestCaptureJobsAreBounded(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	j := &captureJobs{jobs: map[string]*wire.CaptureJob{}}
	job := func(i int, running bool, finished time.Time) *wire.CaptureJob {
		c := &wire.CaptureJob{CaptureID: fmt.Sprint("job-", i), Running: running}
		if !running {
			c.FinishedAt = finished.Format(time.RFC3339Nano)
		}
		return c
	}
	for i := range maxCaptureJobs {
		if !j.add(job(i, false, now.Add(-time.Duration(maxCaptureJobs-i)*time.Second)), now) {
			t.Fatalf("job %d refused", i)
		}
	}
	if !j.add(job(maxCaptureJobs, true, now), now) {
		t.Fatal("a new job refused while finished ones could go")
	}
	if _, ok := j.jobs["job-0"]; ok || len(j.jobs) != maxCaptureJobs {
		t.Fatalf("the oldest finished job kept; %d jobs", len(j.jobs))
	}
	// An hour later every finished job has expired.
	if !j.add(job(maxCaptureJobs+1, true, now), now.Add(captureJobTTL+time.Minute)) || len(j.jobs) != 2 {
		t.Fatalf("after the TTL: %d jobs", len(j.jobs))
	}
	// Only running jobs: refused.
	for i := range maxCaptureJobs - 2 {
		j.add(job(10_000+i, true, now), now)
	}
	if j.add(job(20_000, true, now), now) {
		t.Fatal("a job past maxCaptureJobs accepted while all run")
	}
}
