// Package identity serves the part of an OpenStack Keystone v3 identity
// service that the API's official clients use (the Go SDK through
// gophercloud, the Terraform provider through go-selvpcclient): password
// login to a project-scoped token whose catalog advertises dbaasd itself,
// token validation and revocation, and the version documents.
//
// Users come from the configuration (--user, --users-file) with bcrypt
// password hashes. Issued tokens are random, stored only as SHA-256 hashes
// with source "identity" and an expiry, and are accepted by the whole API
// like static tokens. The package owns no storage of its own: tokens live
// in the store's token table.
package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbaasd/dbaasd/internal/auth"
	"github.com/dbaasd/dbaasd/internal/store"
)

// DefaultTokenTTL is how long issued tokens live unless configured.
const DefaultTokenTTL = 24 * time.Hour

// Prefix is the path the identity service is mounted on.
const Prefix = "/identity"

// Config configures the identity service.
type Config struct {
	Store store.Store
	// Auth authenticates X-Auth-Token on validation and revocation.
	Auth  *auth.Authenticator
	Users []User
	// Region is advertised as region and region_id of every endpoint.
	Region string
	// PublicURL is the advertised base URL ("" = http://Listen, or the
	// request's Host when Listen is a wildcard or unknown).
	PublicURL string
	// Listen is the address dbaasd listens on.
	Listen string
	// TokenTTL is the lifetime of issued tokens (DefaultTokenTTL when 0).
	TokenTTL time.Duration
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the identity HTTP service.
type Service struct {
	store    store.Store
	auth     *auth.Authenticator
	users    *userTable
	region   string
	base     string // fixed advertised base, "" = from the request
	ttl      time.Duration
	now      func() time.Time
	log      *slog.Logger
	dummyPwd []byte // compared against for unknown users, to keep timing even
	throttle *throttle
}

// New builds the identity service and creates the projects its users
// may scope to.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Auth == nil {
		return nil, errors.New("identity: a store and an authenticator are required")
	}
	users, err := newUserTable(cfg.Users)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	s := &Service{
		store: cfg.Store, auth: cfg.Auth, users: users, region: cfg.Region,
		ttl: cfg.TokenTTL, now: cfg.Now, log: cfg.Logger, throttle: newThrottle(),
	}
	if s.region == "" {
		s.region = "local"
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTokenTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.base = advertisedBase(cfg.PublicURL, cfg.Listen)
	// The cost of the dummy hash matches the users' so a login with an
	// unknown name takes as long as one with a wrong password.
	cost := bcrypt.DefaultCost
	for _, u := range cfg.Users {
		if c, err := bcrypt.Cost(u.PasswordHash); err == nil {
			cost = c
			break
		}
	}
	if s.dummyPwd, err = bcrypt.GenerateFromPassword([]byte("dbaasd-no-such-user"), cost); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	err = cfg.Store.InTx(ctx, func(tx store.Tx) error {
		for _, u := range cfg.Users {
			for _, p := range u.Projects {
				if err := auth.EnsureProject(ctx, tx, p, s.now()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("identity: create projects of users: %w", err)
	}
	return s, nil
}

// advertisedBase returns the fixed base URL to advertise, or "" when it
// must come from each request's Host.
func advertisedBase(publicURL, listen string) string {
	if publicURL != "" {
		return strings.TrimRight(publicURL, "/")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil || host == "" || port == "" || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return ""
	}
	return "http://" + listen
}

// baseURL is the advertised base for a request (no trailing slash).
func (s *Service) baseURL(r *http.Request) string {
	if s.base != "" {
		return s.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// ServeHTTP routes the identity endpoints (paths under Prefix).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimRight(r.URL.Path, "/")
	switch path {
	case Prefix:
		s.only(w, r, s.versions, http.MethodGet, http.MethodHead)
	case Prefix + "/v3":
		s.only(w, r, s.version, http.MethodGet, http.MethodHead)
	case Prefix + "/v3/auth/tokens":
		switch r.Method {
		case http.MethodPost:
			s.login(w, r)
		case http.MethodGet, http.MethodHead:
			s.validate(w, r)
		case http.MethodDelete:
			s.revoke(w, r)
		default:
			w.Header().Set("Allow", "POST, GET, HEAD, DELETE")
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path))
		}
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	}
}

func (s *Service) only(w http.ResponseWriter, r *http.Request, h http.HandlerFunc, methods ...string) {
	for _, m := range methods {
		if r.Method == m {
			h(w, r)
			return
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path))
}

type versionDoc struct {
	ID         string              `json:"id"`
	Status     string              `json:"status"`
	Updated    string              `json:"updated"`
	Links      []map[string]string `json:"links"`
	MediaTypes []map[string]string `json:"media-types"`
}

func (s *Service) versionDoc(r *http.Request) versionDoc {
	return versionDoc{
		ID: "v3.14", Status: "stable", Updated: "2020-04-07T00:00:00Z",
		Links: []map[string]string{{"rel": "self", "href": s.baseURL(r) + Prefix + "/v3/"}},
		MediaTypes: []map[string]string{{"base": "application/json",
			"type": "application/vnd.openstack.identity-v3+json"}},
	}
}

// versions answers the versionless endpoint, as Keystone does, with 300
// Multiple Choices and the one version there is.
func (s *Service) versions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusMultipleChoices, map[string]any{
		"versions": map[string]any{"values": []versionDoc{s.versionDoc(r)}},
	})
}

func (s *Service) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"version": s.versionDoc(r)})
}
