package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbaasd/dbaasd/internal/auth"
	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/secret"
	"github.com/dbaasd/dbaasd/internal/store"
)

// Header names of the Keystone token API.
const (
	HeaderAuthToken    = "X-Auth-Token"
	HeaderSubjectToken = "X-Subject-Token"
)

// msgUnauthorized is the answer to every failed login, whatever failed,
// so that it tells nothing about which users or domains exist.
const msgUnauthorized = "The request you have made requires authentication: wrong user name, domain or password."

type domainSel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// matches reports whether a domain selector names the domain.
func (d *domainSel) matches(domain string) bool {
	if d.ID != "" && d.ID != DomainID(domain) {
		return false
	}
	if d.Name != "" && d.Name != domain {
		return false
	}
	return d.ID != "" || d.Name != ""
}

type authRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password *struct {
				User passwordUser `json:"user"`
			} `json:"password"`
			Token *struct {
				ID string `json:"id"`
			} `json:"token"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type passwordUser struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Password string     `json:"password"`
	Domain   *domainSel `json:"domain"`
}

type scopeRequest struct {
	Project *struct {
		ID     string     `json:"id"`
		Name   string     `json:"name"`
		Domain *domainSel `json:"domain"`
	} `json:"project"`
	Domain *domainSel `json:"domain"`
	System any        `json:"system"`
}

// loginError is a failed login with its HTTP status.
type loginError struct {
	code int
	msg  string
}

func (e *loginError) Error() string { return e.msg }

func unauthorized(msg string) error { return &loginError{http.StatusUnauthorized, msg} }
func badRequest(msg string) error   { return &loginError{http.StatusBadRequest, msg} }

// login issues a project-scoped token: POST /identity/v3/auth/tokens.
// Failed password logins are throttled (see throttle.go).
func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	var req authRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	ctx := r.Context()
	source := sourceAddress(r)
	claimed := s.claimedUser(&req)
	keys := keysOf(claimed, source)
	if d := s.throttle.lockedFor(keys, s.now()); d > 0 {
		secs := int64((d + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf(
			"Too many failed logins for this user or from this address: try again in %d s.", secs))
		return
	}
	user, method, err := s.identify(ctx, &req)
	var le *loginError
	if errors.As(err, &le) && le.code == http.StatusUnauthorized {
		s.log.Info(LogLoginFailed, "user", claimed, "source", source, "method", methodOf(&req))
		for _, l := range s.throttle.fail(keys, s.now()) {
			s.log.Warn(LogLoginLocked, "scope", l.key.scope, "user", claimed, "source", source,
				"failures", l.failures, "locked_for_s", int64(l.d/time.Second))
		}
	}
	if err == nil {
		s.throttle.succeed(keys)
		var project string
		if project, err = s.scope(req.Auth.Scope, user); err == nil {
			var value string
			var t *model.Token
			if value, t, err = s.issue(ctx, user, project); err == nil {
				w.Header().Set(HeaderSubjectToken, value)
				writeJSON(w, http.StatusCreated, tokenResponse{Token: s.body(r, t, []string{method})})
				return
			}
		}
	}
	if errors.As(err, &le) {
		writeError(w, le.code, le.msg)
		return
	}
	s.log.Error("identity: login failed", "error", err)
	writeError(w, http.StatusServiceUnavailable, "the identity service cannot issue tokens right now")
}

// Messages of the log lines about logins, stable for alerting.
const (
	// LogLoginFailed is logged (info) for every refused password or
	// token login, with keys user, source and method.
	LogLoginFailed = "identity login failed"
	// LogLoginLocked is logged (warning) when failed logins lock a user
	// name, a source address or both: keys scope ("user+source", "user"
	// or "source"), user, source, failures and locked_for_s.
	LogLoginLocked = "identity login locked"
)

// sourceAddress is the address a request came from (the connection's
// peer: dbaasd does not trust forwarding headers).
func sourceAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func methodOf(req *authRequest) string {
	switch id := req.Auth.Identity; {
	case slices.Contains(id.Methods, "password") && id.Password != nil:
		return "password"
	case slices.Contains(id.Methods, "token") && id.Token != nil:
		return "token"
	}
	return ""
}

// claimedUser is the user name a password login counts against: the key
// of the user it names when that user exists (whether named by ID or by
// name and domain), else what the client sent; "" for token logins.
func (s *Service) claimedUser(req *authRequest) string {
	if methodOf(req) != "password" {
		return ""
	}
	pu := req.Auth.Identity.Password.User
	if u := s.lookupUser(&req.Auth.Identity.Password.User); u != nil {
		return u.key()
	}
	if pu.ID != "" {
		return "id:" + pu.ID
	}
	domain := ""
	if pu.Domain != nil {
		domain = pu.Domain.Name
		if domain == "" {
			domain = "id:" + pu.Domain.ID
		}
	}
	return userKey(domain, pu.Name)
}

// identify finds the user a login request authenticates as, and the
// method that authenticated it.
func (s *Service) identify(ctx context.Context, req *authRequest) (*User, string, error) {
	id := req.Auth.Identity
	switch methodOf(req) {
	case "password":
		pu := id.Password.User
		if pu.ID == "" && (pu.Name == "" || pu.Domain == nil) {
			return nil, "", badRequest("password authentication needs user.id, or user.name with user.domain (id or name)")
		}
		u := s.lookupUser(&pu)
		hash := s.dummyPwd
		if u != nil {
			hash = u.PasswordHash
		}
		if bcrypt.CompareHashAndPassword(hash, []byte(pu.Password)) != nil || u == nil {
			return nil, "", unauthorized(msgUnauthorized)
		}
		return u, "password", nil
	case "token":
		t, err := s.liveToken(ctx, id.Token.ID)
		if err != nil {
			return nil, "", err
		}
		if t == nil || t.Source != auth.SourceIdentity || s.users.byKey[t.UserName] == nil {
			return nil, "", unauthorized("The request you have made requires authentication: unknown, expired or revoked token.")
		}
		return s.users.byKey[t.UserName], "token", nil
	default:
		return nil, "", badRequest(`auth.identity.methods must include "password" (with auth.identity.password) or "token" (with auth.identity.token)`)
	}
}

// lookupUser returns the configured user a password login names, or nil.
func (s *Service) lookupUser(pu *passwordUser) *User {
	switch {
	case pu.ID != "":
		return s.users.byID[pu.ID]
	case pu.Name != "" && pu.Domain != nil:
		var u *User
		if pu.Domain.Name != "" {
			u = s.users.byKey[userKey(pu.Domain.Name, pu.Name)]
		} else {
			for _, cand := range s.users.byKey {
				if cand.Name == pu.Name && pu.Domain.matches(cand.Domain) {
					u = cand
				}
			}
		}
		if u != nil && !pu.Domain.matches(u.Domain) {
			u = nil
		}
		return u
	}
	return nil
}

// scope resolves the project a login asks for; a login without a scope
// gets the user's first (default) project, as with Keystone's
// default_project_id.
func (s *Service) scope(raw json.RawMessage, u *User) (string, error) {
	var sc scopeRequest
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &sc); err != nil {
			var word string
			if json.Unmarshal(raw, &word) == nil && word == "unscoped" {
				return "", unauthorized("dbaasd issues project-scoped tokens only; scope the login to a project")
			}
			return "", badRequest("invalid auth.scope: " + err.Error())
		}
	}
	switch {
	case sc.Project != nil:
		ref := sc.Project.ID
		if ref == "" {
			// Projects have no names of their own: a project's name is its ID.
			if sc.Project.Domain == nil || !sc.Project.Domain.matches(u.Domain) {
				return "", unauthorized(fmt.Sprintf("user %s has no access to project %q in that domain", u.Name, sc.Project.Name))
			}
			ref = sc.Project.Name
		}
		p, err := auth.NormalizeProjectID(ref)
		if err != nil || !u.CanScope(p) {
			return "", unauthorized(fmt.Sprintf("user %s has no access to project %q", u.Name, ref))
		}
		return p, nil
	case sc.Domain != nil || sc.System != nil:
		return "", unauthorized("dbaasd issues project-scoped tokens only; scope the login to a project")
	default:
		return u.Projects[0], nil
	}
}

// issue stores a new token of the user for the project and returns its value.
func (s *Service) issue(ctx context.Context, u *User, project string) (string, *model.Token, error) {
	now := s.now().UTC()
	exp := now.Add(s.ttl)
	value := secret.Token()
	t := model.Token{Hash: s.auth.Hash(value), ProjectID: project, Source: auth.SourceIdentity,
		UserName: u.key(), ExpiresAt: &exp, CreatedAt: now}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.DeleteExpiredTokens(ctx, now); err != nil {
			return err
		}
		if err := auth.EnsureProject(ctx, tx, project, now); err != nil {
			return err
		}
		return tx.PutToken(ctx, t)
	})
	if err != nil {
		return "", nil, fmt.Errorf("issue token: %w", err)
	}
	// Read back what the store keeps (its timestamps have microseconds).
	stored, err := s.store.Token(ctx, t.Hash)
	if err != nil {
		return "", nil, fmt.Errorf("issue token: %w", err)
	}
	return value, stored, nil
}

// liveToken returns the stored, unexpired token with this value, or nil.
func (s *Service) liveToken(ctx context.Context, value string) (*model.Token, error) {
	t, err := s.auth.Lookup(ctx, value)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	if t.Expired(s.now()) {
		return nil, nil
	}
	return t, nil
}

// subject authenticates X-Auth-Token and returns the token named by
// X-Subject-Token if the caller may see it; otherwise it answers the
// request itself and returns nil.
func (s *Service) subject(w http.ResponseWriter, r *http.Request) *model.Token {
	ctx := r.Context()
	caller, err := s.auth.Authenticate(ctx, r.Header.Get(HeaderAuthToken))
	if errors.Is(err, auth.ErrUnauthenticated) {
		writeError(w, http.StatusUnauthorized, "The request you have made requires authentication: X-Auth-Token is missing, unknown, expired or revoked.")
		return nil
	}
	if err != nil {
		s.log.Error("identity: authenticate", "error", err)
		writeError(w, http.StatusServiceUnavailable, "authentication is unavailable right now")
		return nil
	}
	t, err := s.liveToken(ctx, r.Header.Get(HeaderSubjectToken))
	if err != nil {
		s.log.Error("identity: look up subject token", "error", err)
		writeError(w, http.StatusServiceUnavailable, "the identity service cannot validate tokens right now")
		return nil
	}
	if t == nil {
		writeError(w, http.StatusNotFound, "Could not find token: X-Subject-Token is missing, unknown, expired or revoked.")
		return nil
	}
	if !caller.Admin && caller.ProjectID != t.ProjectID {
		writeError(w, http.StatusForbidden, "You are not authorized to perform the requested action on a token of another project.")
		return nil
	}
	return t
}

// validate answers GET and HEAD /identity/v3/auth/tokens.
func (s *Service) validate(w http.ResponseWriter, r *http.Request) {
	t := s.subject(w, r)
	if t == nil {
		return
	}
	w.Header().Set(HeaderSubjectToken, r.Header.Get(HeaderSubjectToken))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	body := s.body(r, t, []string{"password"})
	if _, ok := r.URL.Query()["nocatalog"]; ok {
		body.Catalog = []CatalogEntry{}
	}
	writeJSON(w, http.StatusOK, tokenResponse{Token: body})
}

// revoke answers DELETE /identity/v3/auth/tokens.
func (s *Service) revoke(w http.ResponseWriter, r *http.Request) {
	t := s.subject(w, r)
	if t == nil {
		return
	}
	if t.Source != auth.SourceIdentity {
		writeError(w, http.StatusForbidden, fmt.Sprintf("a %s token is revoked by changing dbaasd's configuration, not here", t.Source))
		return
	}
	if err := s.store.DeleteToken(r.Context(), t.Hash); err != nil {
		s.log.Error("identity: revoke token", "error", err)
		writeError(w, http.StatusServiceUnavailable, "the identity service cannot revoke tokens right now")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// body renders a stored token as Keystone does.
func (s *Service) body(r *http.Request, t *model.Token, methods []string) tokenBody {
	var user userRef
	if u := s.users.byKey[t.UserName]; u != nil && t.Source == auth.SourceIdentity {
		user = userRef{ID: u.ID(), Name: u.Name, Domain: domainRef{ID: DomainID(u.Domain), Name: u.Domain}}
	} else {
		// A static, bootstrap or provisioned token: no user logged in.
		name := t.Source + "-token"
		user = userRef{ID: hexID("user", "", name), Name: name,
			Domain: domainRef{ID: DomainID(DefaultDomain), Name: DefaultDomain}}
	}
	if len(methods) == 0 {
		methods = []string{"password"}
	}
	roles := []roleRef{{ID: hexID("role", "member"), Name: "member"}}
	if t.Admin {
		roles = append(roles, roleRef{ID: hexID("role", "admin"), Name: "admin"})
	}
	created := t.CreatedAt
	return tokenBody{
		Methods:   methods,
		User:      user,
		AuditIDs:  []string{t.Hash[:22]},
		IssuedAt:  formatTime(&created),
		ExpiresAt: formatTime(t.ExpiresAt),
		Project:   projectRef{ID: t.ProjectID, Name: t.ProjectID, Domain: user.Domain},
		Roles:     roles,
		Catalog:   catalog(s.baseURL(r), s.region),
	}
}
