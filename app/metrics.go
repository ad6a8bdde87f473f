package app

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	txs           *prometheus.CounterVec
	checkRejected *prometheus.CounterVec
	height        prometheus.Gauge
	// blockTime is the last committed block's time: its age against the
	// clock is what alerts on a halted chain or a node behind.
	blockTime    prometheus.Gauge
	blockSeconds prometheus.Histogram
	blockTxs     prometheus.Histogram
	// proposalsRejected counts proposals this node refused to vote for.
	proposalsRejected prometheus.Counter
	// sigChecks counts the signatures this node has verified (alone or in
	// batches): the CPU a submission costs before it is refused or kept.
	sigChecks prometheus.Counter
	// snapshotHeight is the height of the last state-sync snapshot taken.
	snapshotHeight prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		txs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "primum", Name: "txs_total",
			Help: "Transactions executed in blocks, by type and outcome."}, []string{"type", "outcome"}),
		checkRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "primum", Name: "checktx_rejected_total",
			Help: "Transactions refused by CheckTx, by error code."}, []string{"code"}),
		height: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "primum", Name: "block_height",
			Help: "Height of the last committed block."}),
		blockTime: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "primum", Name: "block_time_seconds",
			Help: "Time of the last committed block, Unix seconds (time() minus it: how old the node's view of the ledger is)."}),
		blockSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "primum", Name: "finalize_block_seconds",
			Help: "Time to execute a block.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		blockTxs: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "primum", Name: "block_txs",
			Help: "Transactions per block.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
		proposalsRejected: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "primum", Name: "proposals_rejected_total",
			Help: "Proposals refused by ProcessProposal (a faulty or byzantine proposer)."}),
		sigChecks: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "primum", Name: "signature_checks_total",
			Help: "Transaction signatures verified by this node (CheckTx, a batch's pre-check, proposals, blocks)."}),
		snapshotHeight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "primum", Name: "snapshot_height",
			Help: "Height of the last state-sync snapshot this node took (0: none since it started)."}),
	}
	if reg != nil {
		reg.MustRegister(m.txs, m.checkRejected, m.height, m.blockTime, m.blockSeconds, m.blockTxs, m.proposalsRejected, m.sigChecks, m.snapshotHeight)
	}
	return m
}
