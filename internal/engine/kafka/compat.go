package kafka

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// advertiseSaslHandshakeV0 makes a broker that emulates a Kafka 3.x release
// advertise SaslHandshake versions 0–1, as those releases do, instead of
// kfake's 1–1 (the range of Kafka 4, which removed v0).
//
// Clients such as librdkafka before its Kafka 4 support check that the
// broker's advertised range includes v0 before they start SASL, even though
// they then send v1; without this they refuse to authenticate. A client
// that really sends v0 is still refused: kfake serves SASL through
// SaslAuthenticate only.
//
// kfake builds its ApiVersions answers internally, so we take one answer
// from the running broker as a template and answer requests of versions
// 0–3 (those librdkafka sends) from it; kfake keeps answering v4+ (which
// carry cluster and node checks) itself.
func advertiseSaslHandshakeV0(c *kfake.Cluster, addr string) error {
	tmpl, err := apiVersions(context.Background(), addr, 3, 10*time.Second)
	if err != nil {
		return fmt.Errorf("read the broker's API versions: %w", err)
	}
	keys := slices.Clone(tmpl.ApiKeys)
	patched := false
	for i := range keys {
		if keys[i].ApiKey == int16(kmsg.SASLHandshake) && keys[i].MinVersion > 0 {
			keys[i].MinVersion = 0
			patched = true
		}
	}
	if !patched {
		return nil
	}
	c.ControlKey(int16(kmsg.ApiVersions), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req, ok := kreq.(*kmsg.ApiVersionsRequest)
		if !ok || req.Version > 3 {
			return nil, nil, false
		}
		if req.Version >= 3 && (!validSoftwareField(req.ClientSoftwareName) || !validSoftwareField(req.ClientSoftwareVersion)) {
			return nil, nil, false // kfake answers INVALID_REQUEST
		}
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		resp.ApiKeys = slices.Clone(keys)
		resp.SupportedFeatures = slices.Clone(tmpl.SupportedFeatures)
		resp.FinalizedFeatures = slices.Clone(tmpl.FinalizedFeatures)
		resp.FinalizedFeaturesEpoch = tmpl.FinalizedFeaturesEpoch
		return resp, nil, true
	})
	return nil
}

// validSoftwareField applies Kafka's rule for client software names and
// versions: [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
func validSoftwareField(s string) bool {
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	if s == "" || !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// firstListenAddr is the address of the process's first broker.
func firstListenAddr(cfg *brokerConfig) string {
	l := cfg.Listeners[0]
	return net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
}
