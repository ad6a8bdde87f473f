package bench

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sampler reads CPU time and resident memory of processes from /proc.
type sampler struct {
	pids []int

	mu       sync.Mutex
	cpuStart map[int]float64
	cpuEnd   map[int]float64
	from, to time.Time
	peakRSS  float64
}

func newSampler(pids []int) *sampler {
	return &sampler{pids: pids, cpuStart: map[int]float64{}, cpuEnd: map[int]float64{}}
}

func (s *sampler) run(ctx context.Context, measureFrom time.Time) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	started := false
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s.mu.Lock()
			if !started && !now.Before(measureFrom) {
				started = true
				s.from = now
				for _, p := range s.pids {
					s.cpuStart[p] = cpuSeconds(p)
				}
			}
			if started {
				s.to = now
				for _, p := range s.pids {
					s.cpuEnd[p] = cpuSeconds(p)
				}
			}
			for _, p := range s.pids {
				if r := rssMB(p); r > s.peakRSS {
					s.peakRSS = r
				}
			}
			s.mu.Unlock()
		}
	}
}

func (s *sampler) result() (cpuPercent, peakRSS float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wall := s.to.Sub(s.from).Seconds()
	if wall <= 0 {
		return 0, s.peakRSS
	}
	var cpu float64
	for _, p := range s.pids {
		cpu += s.cpuEnd[p] - s.cpuStart[p]
	}
	return 100 * cpu / wall, s.peakRSS
}

// cpuSeconds is user+system time of a process (Linux /proc/PID/stat).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func rssMB(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

func diskUsage(dirs []string) int64 {
	var total int64
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(_ string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				if info, err := e.Info(); err == nil {
					total += info.Size()
				}
			}
			return nil
		})
	}
	return total
}

// RSSMB is a process's resident memory in MB (0 if unknown).
func RSSMB(pid int) float64 { return rssMB(pid) }

// DiskUsage is the bytes used under dirs.
func DiskUsage(dirs []string) int64 { return diskUsage(dirs) }
