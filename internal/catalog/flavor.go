package catalog

import (
	"fmt"

	"github.com/dbaasd/dbaasd/internal/model"
)

// Flavor lines.
const (
	FlStandard = "standard"
	FlHighFreq = "high_freq"
)

// GenerateFlavors returns the flavor ladder for this machine: for each line
// (standard: 4 GB per vCPU; high_freq: 2 GB per vCPU on the same cores) and
// each size from 1 vCPU up to twice the machine's cores, a flavor whose host
// total_count is how many nodes of it the machine's memory holds.
func GenerateFlavors(m Machine, typeIDs []string) []model.FlavorSpec {
	var out []model.FlavorSpec
	maxCPU := m.MaxVCPUs()
	lines := []struct {
		fl, line, subtype string
		ramPerCPU         int
	}{
		{FlStandard, "Standard", "STANDARD", 4096},
		{FlHighFreq, "HighFreq", "HIGH_FREQ", 2048},
	}
	for _, l := range lines {
		for vcpus := 1; vcpus <= maxCPU; vcpus *= 2 {
			ram := vcpus * l.ramPerCPU
			disk := 16 * vcpus
			name := fmt.Sprintf("%s-%dvcpu-%dgb", l.fl, vcpus, ram/1024)
			total := m.RAMMB / ram
			if total < 1 {
				total = 1
			}
			out = append(out, model.FlavorSpec{
				ID: FlavorID(name), Name: name,
				Description: fmt.Sprintf("%d vCPU, %d GB RAM, %d GB disk (%s line)", vcpus, ram/1024, disk, l.line),
				VCPUs:       vcpus, RAM: ram, Disk: disk, FlSize: l.fl, Subtype: l.subtype,
				HostLine: l.line, HostProcessor: m.Processor, HostTotalCount: total, IsPublic: true,
				DatastoreTypeIDs: append([]string{}, typeIDs...),
			})
		}
	}
	return out
}
