package keyring

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Params are the Argon2id costs of the password KDF.
type Params struct {
	Ops         uint32 `json:"opsLimit"`    // passes over memory
	MemKiB      uint32 `json:"memLimitKiB"` // memory in KiB
	Parallelism uint8  `json:"parallelism"`
}

// Limits every stored or requested parameter set must respect. The floor is
// the "min" preset: a tampered key file cannot ask for less. The ceiling
// keeps a tampered file from exhausting memory.
const (
	MinOps    = 1
	MaxOps    = 64
	MinMemKiB = 8 << 10
	MaxMemKiB = 4 << 20
	threads   = 4
)

// ErrInvalidParams is returned for parameters outside the limits.
var ErrInvalidParams = errors.New("invalid password hashing parameters")

type preset struct {
	name   string
	ops    uint32
	memKiB uint32
}

// Presets, named after libsodium's and Polykey's.
var presets = []preset{
	{"min", 1, 8 << 10},
	{"interactive", 2, 64 << 10},
	{"moderate", 3, 256 << 10},
	{"sensitive", 4, 1 << 20},
	{"max", 8, 4 << 20},
}

// DefaultParams is the "moderate" preset: t=3, m=256 MiB, p=4.
var DefaultParams = Params{Ops: 3, MemKiB: 256 << 10, Parallelism: threads}

// PresetNames lists the preset names in increasing cost.
func PresetNames() []string {
	out := make([]string, len(presets))
	for i, p := range presets {
		out[i] = p.name
	}
	return out
}

// ParseOpsLimit accepts a preset name or a number of passes.
func ParseOpsLimit(s string) (uint32, error) {
	for _, p := range presets {
		if strings.EqualFold(s, p.name) {
			return p.ops, nil
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n < MinOps || n > MaxOps {
		return 0, fmt.Errorf("%w: ops limit %q: want a preset (%s) or %d..%d",
			ErrInvalidParams, s, strings.Join(PresetNames(), "|"), MinOps, MaxOps)
	}
	return uint32(n), nil
}

// ParseMemLimit accepts a preset name or a size in bytes with an optional
// KiB/MiB/GiB suffix. It returns KiB.
func ParseMemLimit(s string) (uint32, error) {
	for _, p := range presets {
		if strings.EqualFold(s, p.name) {
			return p.memKiB, nil
		}
	}
	mult := uint64(1)
	num := s
	for suf, m := range map[string]uint64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suf) {
			mult, num = m, strings.TrimSuffix(s, suf)
		}
	}
	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 64)
	kib := n * mult / 1024
	if err != nil || kib < MinMemKiB || kib > MaxMemKiB {
		return 0, fmt.Errorf("%w: memory limit %q: want a preset (%s) or 8MiB..4GiB",
			ErrInvalidParams, s, strings.Join(PresetNames(), "|"))
	}
	return uint32(kib), nil
}

// Validate checks p against the floor and the ceiling.
func (p Params) Validate() error {
	if p.Ops < MinOps || p.Ops > MaxOps || p.MemKiB < MinMemKiB || p.MemKiB > MaxMemKiB ||
		p.Parallelism < 1 || p.Parallelism > 16 {
		return fmt.Errorf("%w: t=%d m=%dKiB p=%d", ErrInvalidParams, p.Ops, p.MemKiB, p.Parallelism)
	}
	return nil
}

// ParamsFrom builds Params from the ops and memory flags (empty = default).
func ParamsFrom(ops, mem string) (Params, error) {
	p := DefaultParams
	var err error
	if ops != "" {
		if p.Ops, err = ParseOpsLimit(ops); err != nil {
			return p, err
		}
	}
	if mem != "" {
		if p.MemKiB, err = ParseMemLimit(mem); err != nil {
			return p, err
		}
	}
	return p, nil
}
