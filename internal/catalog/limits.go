package catalog

// Limits bound the flavor and disk of each node, per engine.
type Limits struct {
	VCPUsMin, VCPUsMax                       int
	RAMMin, RAMMax                           int // MB
	DiskLocalMin, DiskLocalMax               int // GB
	DiskNetworkUltraMin, DiskNetworkUltraMax int
	DiskVCPUsMultiplier                      int // disk GB allowed per vCPU above the threshold
	RAMVCPUsMultiplier                       int // RAM MB allowed per vCPU above the threshold
	VCPUsMultiplierMinThreshold              int
	NodesMin, NodesMax                       int
}

// Disk types.
const (
	DiskLocal        = "local"
	DiskNetworkUltra = "network-ultra"
)

// NodeCountAllowed reports whether a cluster of the engine may have n nodes:
// within the limits, and never two nodes of a synchronous (Galera) cluster,
// which could not keep a quorum when one of them fails.
func NodeCountAllowed(engineName string, l Limits, n int) bool {
	if n < l.NodesMin || n > l.NodesMax {
		return false
	}
	return engineName != "mysql" || n != 2
}

// LimitsFor returns the limits of an engine on this machine: nodes may not
// ask for more vCPUs than MaxVCPUs, more memory than the machine has, nor
// more disk than is free.
func LimitsFor(engineName string, m Machine) Limits {
	diskMax := m.DiskGB
	if diskMax < 1 {
		diskMax = 1
	}
	if diskMax > 4096 {
		diskMax = 4096
	}
	l := Limits{
		VCPUsMin: 1, VCPUsMax: m.MaxVCPUs(),
		RAMMin: 512, RAMMax: max(1024, m.RAMMB),
		DiskLocalMin: 1, DiskLocalMax: diskMax,
		DiskNetworkUltraMin: 1, DiskNetworkUltraMax: diskMax,
		DiskVCPUsMultiplier: 64, RAMVCPUsMultiplier: 8192, VCPUsMultiplierMinThreshold: 1,
		NodesMin: 1, NodesMax: 3,
	}
	switch engineName {
	case "postgresql":
		l.NodesMax = 6
	case "kafka":
		l.RAMMin = 256
		l.NodesMax = 1
	}
	return l
}
