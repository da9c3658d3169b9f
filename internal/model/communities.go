package model

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pylonlb/pylon/api/v1beta1"
)

const kindCommunity = "Community"

// CommunityValue is one parsed BGP community: standard or large.
type CommunityValue struct {
	Large    bool
	Standard uint32         // when !Large: A<<16 | B
	LargeVal LargeCommunity // when Large
}

// String renders the value in the syntax users write.
func (v CommunityValue) String() string {
	if v.Large {
		return fmt.Sprintf("large:%d:%d:%d", v.LargeVal.GlobalAdmin, v.LargeVal.LocalData1, v.LargeVal.LocalData2)
	}
	return fmt.Sprintf("%d:%d", v.Standard>>16, v.Standard&0xffff)
}

// ParseCommunity parses "A:B" (16-bit numbers) or "large:A:B:C" (32-bit
// numbers).
func ParseCommunity(s string) (CommunityValue, error) {
	if rest, ok := strings.CutPrefix(s, "large:"); ok {
		parts := strings.Split(rest, ":")
		if len(parts) != 3 {
			return CommunityValue{}, fmt.Errorf("large community %q must be large:A:B:C", s)
		}
		var n [3]uint32
		for i, p := range parts {
			v, err := strconv.ParseUint(p, 10, 32)
			if err != nil {
				return CommunityValue{}, fmt.Errorf("large community %q: part %q is not a 32-bit number", s, p)
			}
			n[i] = uint32(v)
		}
		return CommunityValue{Large: true, LargeVal: LargeCommunity{n[0], n[1], n[2]}}, nil
	}
	a, b, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(b, ":") {
		return CommunityValue{}, fmt.Errorf("community %q must be A:B or large:A:B:C", s)
	}
	hi, err1 := strconv.ParseUint(a, 10, 16)
	lo, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil {
		return CommunityValue{}, fmt.Errorf("community %q: both parts must be 16-bit numbers (0-65535)", s)
	}
	return CommunityValue{Standard: uint32(hi)<<16 | uint32(lo)}, nil
}

// convertCommunities validates the aliases of every Community object and
// returns them by name.
func convertCommunities(c *collector, in []v1beta1.Community) map[string]CommunityValue {
	in = sortedByName(in, func(o *v1beta1.Community) string { return o.Name })
	out := map[string]CommunityValue{}
	owner := map[string]string{}
	for i := range in {
		obj := &in[i]
		for j, a := range obj.Spec.Communities {
			field := fmt.Sprintf("spec.communities[%d]", j)
			if a.Name == "" || strings.Contains(a.Name, ":") {
				c.add(kindCommunity, obj.Name, field+".name", "alias %q must be non-empty and contain no ':'", a.Name)
				continue
			}
			if prev, dup := owner[a.Name]; dup {
				c.add(kindCommunity, obj.Name, field+".name", "alias %q is already defined in %s %q", a.Name, kindCommunity, prev)
				continue
			}
			v, err := ParseCommunity(a.Value)
			if err != nil {
				c.add(kindCommunity, obj.Name, field+".value", "%v", err)
				continue
			}
			owner[a.Name] = obj.Name
			out[a.Name] = v
		}
	}
	return out
}
