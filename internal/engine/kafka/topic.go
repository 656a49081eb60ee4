package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// maxPartitions bounds a topic's partition count (kfake keeps every
// partition in memory and on disk in one process).
const maxPartitions = 10000

// checkTopicName applies Kafka's topic name rules.
func checkTopicName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 249 {
		return fmt.Errorf("%w: invalid topic name %q", engine.ErrInvalid, name)
	}
	for _, r := range name {
		if !topicNameRune(r) {
			return fmt.Errorf("%w: topic name %q: only ASCII letters, digits, '.', '_' and '-' are allowed", engine.ErrInvalid, name)
		}
	}
	return nil
}

// topicNameRune reports whether r may appear in a topic name.
func topicNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// EnsureTopic creates the topic with t.Partitions partitions, or grows an
// existing topic to that many. Shrinking is refused with engine.ErrInvalid:
// Kafka cannot remove partitions.
func (d *Driver) EnsureTopic(ctx context.Context, c *engine.Cluster, t engine.Topic) error {
	if err := checkTopicName(t.Name); err != nil {
		return err
	}
	if t.Partitions < 1 || t.Partitions > maxPartitions {
		return fmt.Errorf("%w: topic %s: partitions must be between 1 and %d, not %d", engine.ErrInvalid, t.Name, maxPartitions, t.Partitions)
	}
	return withAdmin(ctx, c, func(adm *kadm.Client, _ *kgo.Client) error {
		have, err := topicPartitions(ctx, adm, t.Name)
		if err != nil {
			return err
		}
		switch have {
		case 0:
			r, err := adm.CreateTopic(ctx, int32(t.Partitions), -1, nil, t.Name)
			if err == nil {
				err = r.Err
			}
			if errors.Is(err, kerr.TopicAlreadyExists) {
				// Created meanwhile: converge on what is there.
				if have, err = topicPartitions(ctx, adm, t.Name); err != nil {
					return err
				}
				return grow(ctx, adm, t, have)
			}
			if err != nil {
				return topicErr("create topic", t.Name, err, r.ErrMessage)
			}
			return nil
		default:
			return grow(ctx, adm, t, have)
		}
	})
}

// grow adds partitions to a topic that has `have` of them.
func grow(ctx context.Context, adm *kadm.Client, t engine.Topic, have int) error {
	switch {
	case have == t.Partitions:
		return nil
	case have > t.Partitions:
		return fmt.Errorf("%w: topic %s has %d partitions; Kafka cannot shrink it to %d", engine.ErrInvalid, t.Name, have, t.Partitions)
	}
	rs, err := adm.UpdatePartitions(ctx, t.Partitions, t.Name)
	if err != nil {
		return fmt.Errorf("grow topic %s to %d partitions: %w", t.Name, t.Partitions, err)
	}
	r, err := rs.On(t.Name, nil)
	if err == nil {
		err = r.Err
	}
	if err != nil {
		return topicErr(fmt.Sprintf("grow to %d partitions:", t.Partitions), t.Name, err, r.ErrMessage)
	}
	return nil
}

// topicPartitions returns how many partitions a topic has (0 if it does not
// exist).
func topicPartitions(ctx context.Context, adm *kadm.Client, name string) (int, error) {
	tds, err := adm.ListTopics(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("describe topic %s: %w", name, err)
	}
	td, ok := tds[name]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return 0, nil
	}
	if td.Err != nil {
		return 0, fmt.Errorf("describe topic %s: %w", name, td.Err)
	}
	return len(td.Partitions), nil
}

// DropTopic deletes the topic and its records; a missing topic is fine.
func (d *Driver) DropTopic(ctx context.Context, c *engine.Cluster, name string) error {
	if err := checkTopicName(name); err != nil {
		return err
	}
	return withAdmin(ctx, c, func(adm *kadm.Client, _ *kgo.Client) error {
		r, err := adm.DeleteTopic(ctx, name)
		if err == nil {
			err = r.Err
		}
		if err == nil || errors.Is(err, kerr.UnknownTopicOrPartition) || errors.Is(err, kerr.UnknownTopicID) {
			return nil
		}
		return topicErr("delete topic", name, err, r.ErrMessage)
	})
}

// topicErr wraps a topic operation's error with the broker's message and
// marks the errors caused by the request's content as engine.ErrInvalid.
func topicErr(op, topic string, err error, msg string) error {
	if msg != "" {
		err = fmt.Errorf("%w: %s", err, msg)
	}
	if errors.Is(err, kerr.InvalidTopicException) || errors.Is(err, kerr.InvalidPartitions) ||
		errors.Is(err, kerr.InvalidReplicationFactor) || errors.Is(err, kerr.PolicyViolation) {
		return fmt.Errorf("%w: %s %s: %v", engine.ErrInvalid, op, topic, err)
	}
	return fmt.Errorf("%s %s: %w", op, topic, err)
}
