package rules

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// Outage is a set of dependencies failing together. An entry is a full id
// ("security-key/k1") or a kind without its "/<id>" suffix, which means every
// instance of that kind ("security-key": all keys). entra-auth is never part
// of an outage: nothing a user registers avoids it.
type Outage struct {
	ids   map[string]bool
	kinds KindSet
	list  []string
}

// ParseOutage reads dependency ids or kinds, separated by commas or given
// as several arguments. It names every unknown id.
func ParseOutage(specs ...string) (Outage, error) {
	o := Outage{ids: map[string]bool{}}
	var errs []error
	for _, spec := range specs {
		for _, id := range strings.Split(spec, ",") {
			id = strings.TrimSpace(id)
			if id == "" {
				continue
			}
			if model.KindOf(id) == model.DepEmailProvider {
				errs = append(errs, fmt.Errorf("%w: %q: no sign-in path depends on the email provider (email one-time passcodes only reset passwords)", model.ErrInvalidInput, id))
				continue
			}
			if !model.ValidDependency(id) {
				errs = append(errs, fmt.Errorf("%w: unknown dependency %q (known: %s)", model.ErrInvalidInput, id, strings.Join(model.DependencyKinds, ", ")))
				continue
			}
			if id == model.DepEntraAuth {
				// Counted nowhere: everyone would be locked out, which says nothing.
				continue
			}
			if o.ids[id] {
				continue
			}
			o.ids[id] = true
			o.list = append(o.list, id)
			if model.KindOf(id) == id {
				o.kinds |= KindBit(id)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Outage{}, err
	}
	if len(o.list) == 0 {
		return Outage{}, fmt.Errorf("%w: no dependency is down (entra-auth is never counted)", model.ErrInvalidInput)
	}
	return o, nil
}

// Down returns the outage's entries as given (without entra-auth).
func (o Outage) Down() []string { return append([]string(nil), o.list...) }

func (o Outage) covers(dep model.Dependency) bool {
	return o.ids[dep] || o.kinds&KindBit(model.KindOf(dep)) != 0
}

// LockedOut reports whether the outage would leave the user no sign-in path.
// Tier accept lists do not apply: an outage is an outage. hasPath is false
// for a user who has no path even without any outage.
func LockedOut(t model.Tenant, u *model.User, o Outage) (lockedOut, hasPath bool) {
	var g userGraph
	g.buildFor(t, u)
	paths := g.list()
	if len(paths) == 0 {
		return false, false
	}
	var down depSet
	for i := 0; i < min(g.used, maxBits); i++ {
		if o.covers(g.names[i]) {
			down |= 1 << i
		}
	}
	for _, p := range paths {
		if p.deps&down == 0 && (!p.wide() || !o.covers(g.name(int(p.inst)))) {
			return false, true
		}
	}
	return true, true
}

// KindSet is a set of dependency kinds: bit i is model.DependencyKinds[i].
type KindSet uint16

// KindBit returns the bit of a dependency kind, 0 for an unknown kind.
func KindBit(kind model.Dependency) KindSet {
	for i, k := range model.DependencyKinds {
		if k == kind {
			return 1 << i
		}
	}
	return 0
}

// Kinds returns the kinds in the set, in the order of model.DependencyKinds.
func (s KindSet) Kinds() []model.Dependency {
	var out []model.Dependency
	for i, k := range model.DependencyKinds {
		if s&(1<<i) != 0 {
			out = append(out, k)
		}
	}
	return out
}

// KindPaths returns the user's sign-in paths as sets of dependency kinds,
// nothing excluded but entra-auth, appended to buf. A tenant-wide report
// computes many outages from these without rebuilding the paths: a user is
// locked out by the kinds K when every returned set meets K.
func KindPaths(t model.Tenant, u *model.User, buf []KindSet) []KindSet {
	var g userGraph
	g.buildFor(t, u)
	var bitKind [maxBits]KindSet
	for i := 0; i < min(g.used, maxBits); i++ {
		bitKind[i] = kindBits[model.KindOf(g.names[i])]
	}
	for _, p := range g.list() {
		var ks KindSet
		for rest := p.deps; rest != 0; rest &= rest - 1 {
			ks |= bitKind[bits.TrailingZeros64(uint64(rest))]
		}
		if p.wide() {
			ks |= kindBits[model.KindOf(g.name(int(p.inst)))]
		}
		buf = append(buf, ks)
	}
	return buf
}

var kindBits = func() map[model.Dependency]KindSet {
	m := make(map[model.Dependency]KindSet, len(model.DependencyKinds))
	for i, k := range model.DependencyKinds {
		m[k] = 1 << i
	}
	return m
}()

// LockedOutByKinds reports whether paths (from KindPaths) all meet down.
// It is false for a user without paths; callers report those separately.
func LockedOutByKinds(paths []KindSet, down KindSet) bool {
	if len(paths) == 0 {
		return false
	}
	for _, p := range paths {
		if p&down == 0 {
			return false
		}
	}
	return true
}
