package identity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbaasd/dbaasd/internal/testutil/syncbuf"
)

// loginFrom sends a password login as a client at address addr would.
func (b *bundle) loginFrom(addr, user, domain, password string) *httptest.ResponseRecorder {
	body, _ := json.Marshal(passwordLogin(user, domain, password, projectScope(projB)))
	req := httptest.NewRequest(http.MethodPost, "/identity/v3/auth/tokens", bytes.NewReader(body))
	req.RemoteAddr = addr + ":40000"
	w := httptest.NewRecorder()
	b.svc.ServeHTTP(w, req)
	return w
}

// TestLoginThrottle is the attack of a password guesser: 100 wrong
// passwords for one user from one address, then the right one. Once the
// user has had its free failures from that address, every login of it
// from there is answered 429 with Retry-After, the right password too,
// and a warning an operator can alert on is logged; other users and the
// same user from elsewhere still log in; once the lock has passed, the
// right password works again.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	var logs syncbuf.Buffer
	b := setupLogged(t, time.Hour, slog.New(slog.NewJSONHandler(&logs, nil)))
	const attacker, other = "203.0.113.7", "198.51.100.9"

	var unauthorized, throttled int
	for i := 0; i < 100; i++ {
		w := b.loginFrom(attacker, "alice", "Default", fmt.Sprintf("guess-%d", i))
		switch w.Code {
		case http.StatusUnauthorized:
			unauthorized++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Fatalf("wrong password %d: %d %s", i, w.Code, w.Body)
		}
	}
	if unauthorized != freePairFailures+1 || throttled != 100-unauthorized {
		t.Errorf("100 wrong passwords: %d refused with 401, %d with 429; want %d and the rest", unauthorized, throttled, freePairFailures+1)
	}

	w := b.loginFrom(attacker, "alice", "Default", "alice-pw")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("the right password during the lock: %d %s, want 429", w.Code, w.Body)
	}
	retry, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if err != nil || retry < 1 {
		t.Fatalf("Retry-After = %q", w.Header().Get("Retry-After"))
	}
	var e errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != http.StatusTooManyRequests {
		t.Errorf("429 body %s (%v)", w.Body, err)
	}

	for _, c := range []struct{ addr, user, domain, pw string }{
		{other, "bob", "Team", "bob-pw"},        // another user, another address
		{attacker, "bob", "Team", "bob-pw"},     // another user, the attacker's address
		{other, "alice", "Default", "alice-pw"}, // the user, from elsewhere
	} {
		if w := b.loginFrom(c.addr, c.user, c.domain, c.pw); w.Code != http.StatusCreated {
			t.Errorf("login of %s from %s during the lock: %d %s", c.user, c.addr, w.Code, w.Body)
		}
	}

	found := false
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != LogLoginLocked {
			continue
		}
		found = true
		if rec["level"] != "WARN" || rec["scope"] != "user+source" || rec["user"] != "alice@Default" ||
			rec["source"] != attacker || rec["failures"] == nil || rec["locked_for_s"] == nil {
			t.Errorf("lock log line: %v", rec)
		}
		if strings.Contains(line, "guess-") {
			t.Errorf("the log holds a password: %s", line)
		}
	}
	if !found {
		t.Errorf("no %q line logged:\n%s", LogLoginLocked, logs.String())
	}

	b.clock.add(time.Duration(retry) * time.Second)
	if w := b.loginFrom(attacker, "alice", "Default", "alice-pw"); w.Code != http.StatusCreated {
		t.Errorf("the right password after the lock: %d %s", w.Code, w.Body)
	}
}

// TestLoginThrottleGrowsAndCountsAcrossNames: a guesser spread over many
// addresses is stopped by the user name's own count, one naming many
// users from one address by the address's, and every failure past the
// free ones doubles the lock.
func TestLoginThrottleGrowsAndCountsAcrossNames(t *testing.T) {
	t.Parallel()
	b := setup(t, time.Hour)
	// One wrong password from each of many addresses.
	for i := 0; i <= freeUserFailures; i++ {
		if w := b.loginFrom(fmt.Sprintf("192.0.2.%d", i+1), "alice", "Default", "wrong"); w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, w.Code)
		}
	}
	if w := b.loginFrom("192.0.2.200", "alice", "Default", "alice-pw"); w.Code != http.StatusTooManyRequests {
		t.Errorf("user name locked by failures from many addresses: %d", w.Code)
	}
	// Many user names from one address.
	for i := 0; i <= freeAddressFailures; i++ {
		if w := b.loginFrom("198.51.100.1", fmt.Sprintf("user%d", i), "Default", "wrong"); w.Code != http.StatusUnauthorized {
			t.Fatalf("name %d: %d", i, w.Code)
		}
	}
	if w := b.loginFrom("198.51.100.1", "bob", "Team", "bob-pw"); w.Code != http.StatusTooManyRequests {
		t.Errorf("address locked by failures over many names: %d", w.Code)
	}

	th := newThrottle()
	keys := keysOf("carol@Default", "192.0.2.1")
	now := time.Now()
	var last time.Duration
	for i := 1; i <= freePairFailures+4; i++ {
		th.fail(keys, now)
		d := th.lockedFor(keys, now)
		if i <= freePairFailures && d != 0 {
			t.Fatalf("locked after %d failures", i)
		}
		if i > freePairFailures+1 && d != 2*last {
			t.Fatalf("lock after %d failures = %v, want twice %v", i, d, last)
		}
		last = d
	}
	th.succeed(keys)
	if d := th.lockedFor(keys, now); d != 0 {
		t.Errorf("still locked after a success: %v", d)
	}
}
