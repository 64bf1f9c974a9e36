package results

// Phase is a named point in an instance's life, in ms since launch.
type Phase struct {
	Name string  `json:"name"`
	MS   float64 `json:"ms"`
}

// StartSample is one run of one target.
type StartSample struct {
	Target  string  `json:"target"`
	Round   int     `json:"round"`
	Warmup  bool    `json:"warmup,omitempty"`
	ReadyMS float64 `json:"ready_ms,omitempty"` // launch → ready marker
	// CPUMS is the user+system time of every process the bench waited
	// for during the run (the VMM, the runtime's commands, the workload
	// reaped as subreaper); daemons (dockerd) are not included.
	CPUMS  float64 `json:"cpu_ms,omitempty"`
	Phases []Phase `json:"phases,omitempty"`
	Note   string  `json:"note,omitempty"`
	Error  string  `json:"error,omitempty"`
	Tail   string  `json:"tail,omitempty"` // last output lines of a failed run
	// LabFault names the nested lab's known fault that ended this run
	// (Error says how): the bench ran the round's run again, so such a
	// sample is neither counted nor a failure.
	LabFault string `json:"lab_fault,omitempty"`
}

// StartResults are the start benchmark's samples, in run order.
type StartResults struct {
	Workload string        `json:"workload"`
	Runs     int           `json:"runs"`
	Warmup   int           `json:"warmup"`
	Order    [][]string    `json:"order"` // targets in the order each round ran them
	Samples  []StartSample `json:"samples"`
}

// SortPhases orders phases by time (stable: equal times keep their order).
func SortPhases(ps []Phase) []Phase {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].MS < ps[j-1].MS; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	return ps
}

// Counted returns the counted (not warm-up), successful samples of target.
func (r StartResults) Counted(target string) []StartSample {
	var out []StartSample
	for _, s := range r.Samples {
		if s.Target == target && !s.Warmup && s.Error == "" {
			out = append(out, s)
		}
	}
	return out
}

// Failures counts target's failed counted runs, known lab faults aside.
func (r StartResults) Failures(target string) int {
	n := 0
	for _, s := range r.Samples {
		if s.Target == target && !s.Warmup && s.Error != "" && s.LabFault == "" {
			n++
		}
	}
	return n
}

// LabFaults counts target's runs lost to a known fault of the nested lab
// (each one run again).
func (r StartResults) LabFaults(target string) int {
	n := 0
	for _, s := range r.Samples {
		if s.Target == target && s.LabFault != "" {
			n++
		}
	}
	return n
}

// ReadyByRound maps round → ready time of target (counted, successful).
func (r StartResults) ReadyByRound(target string) map[int]float64 {
	out := map[int]float64{}
	for _, s := range r.Counted(target) {
		out[s.Round] = s.ReadyMS
	}
	return out
}

// Ratios are target's ready times divided by base's, round by round.
func (r StartResults) Ratios(target, base string) []float64 {
	a, b := r.ReadyByRound(target), r.ReadyByRound(base)
	var out []float64
	for round, x := range a {
		if y, ok := b[round]; ok && y > 0 {
			out = append(out, x/y)
		}
	}
	return out
}
