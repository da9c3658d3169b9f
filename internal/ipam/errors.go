package ipam

import "errors"

// Sentinel errors. The allocator wraps them with the service, pool and
// address concerned; test for them with errors.Is.
var (
	// ErrPoolExhausted: the eligible pools have no free address of the
	// family needed.
	ErrPoolExhausted = errors.New("pool exhausted")
	// ErrIPInUse: a requested address is held by a service it cannot be
	// shared with.
	ErrIPInUse = errors.New("address already in use")
	// ErrNotInAnyPool: a requested address is in no configured pool.
	ErrNotInAnyPool = errors.New("address is not in any pool")
	// ErrUnknownPool: the requested pool is not configured.
	ErrUnknownPool = errors.New("unknown pool")
	// ErrPoolNotAllowed: the pool's serviceAllocation does not admit the
	// service.
	ErrPoolNotAllowed = errors.New("pool does not admit the service")
	// ErrWrongFamily: a requested address's family is not among the
	// service's families.
	ErrWrongFamily = errors.New("address family not used by the service")
	// ErrDualStackUnavailable: RequireDualStack and no eligible pool has both
	// families.
	ErrDualStackUnavailable = errors.New("no pool offers both IPv4 and IPv6")
	// ErrNoPool: no pool is configured or eligible for the service.
	ErrNoPool = errors.New("no eligible pool")
	// ErrMixedPools: the requested or restored addresses lie in different
	// pools.
	ErrMixedPools = errors.New("addresses are in different pools")
	// ErrPoolMismatch: a requested address is not in the requested pool.
	ErrPoolMismatch = errors.New("address is not in the requested pool")
	// ErrAvoidedIP: the address ends in .0 or .255 and its pool avoids such
	// addresses.
	ErrAvoidedIP = errors.New("address avoided by its pool")
	// ErrReservedIP: the address is reserved (see SetReserved) and the
	// service does not already hold it.
	ErrReservedIP = errors.New("address reserved")
	// ErrInvalidRequest: the request itself is malformed (no key, bad
	// families or policy, two requested addresses of one family).
	ErrInvalidRequest = errors.New("invalid request")
	// ErrInvalidConfig: SetPools was given an invalid pool list.
	ErrInvalidConfig = errors.New("invalid pool configuration")
)
