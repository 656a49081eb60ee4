package service

import (
	"context"
	"strings"

	"github.com/dbaasd/dbaasd/internal/model"
	"github.com/dbaasd/dbaasd/internal/store"
)

const maxPartitions = 4000

// CreateTopic records a new Kafka topic.
func (s *Service) CreateTopic(ctx context.Context, c Caller, dsID, name string, partitions int) (*model.Topic, error) {
	if !topicRe.MatchString(name) || name == "." || name == ".." || strings.HasPrefix(name, "__") {
		return nil, Invalid("topic.name", "must be 1 to 249 letters, digits, . _ or -, not . or .. and not starting with __; got %q", name)
	}
	if partitions < 1 || partitions > maxPartitions {
		return nil, Invalid("topic.partitions", "must be between 1 and %d, got %d", maxPartitions, partitions)
	}
	return create(ctx, s, c, topicKind, dsID,
		func(tx store.Tx, d *model.Datastore, _ *model.DatastoreType) (*model.Topic, error) {
			t := &model.Topic{Object: s.newObject(c, d.ID), Name: name, Partitions: partitions}
			return t, nil
		})
}

// GetTopic returns one of the caller's topics.
func (s *Service) GetTopic(ctx context.Context, c Caller, id string) (*model.Topic, error) {
	return getObject(ctx, s, c, topicKind, id)
}

// ListTopics lists the caller's topics.
func (s *Service) ListTopics(ctx context.Context, c Caller, f store.Filter) ([]model.Topic, error) {
	return list(ctx, s.store.Topics(), c, f)
}

// UpdateTopicPartitions grows a topic (partitions never shrink).
func (s *Service) UpdateTopicPartitions(ctx context.Context, c Caller, id string, partitions int) (*model.Topic, error) {
	if partitions < 1 || partitions > maxPartitions {
		return nil, Invalid("topic.partitions", "must be between 1 and %d, got %d", maxPartitions, partitions)
	}
	return change(ctx, s, c, topicKind, id, topicKind.Update,
		func(tx store.Tx, t *model.Topic) error {
			if partitions < t.Partitions {
				return Invalid("topic.partitions", "partitions only grow: %d is less than the current %d", partitions, t.Partitions)
			}
			if t.Status == model.StatusPendingDelete {
				return Conflict("topic_id", "topic %s is being deleted", id)
			}
			t.Partitions, t.Status, t.UpdatedAt = partitions, model.StatusPendingUpdate, s.stamp()
			return nil
		})
}

// DeleteTopic removes a topic.
func (s *Service) DeleteTopic(ctx context.Context, c Caller, id string) error {
	_, err := change(ctx, s, c, topicKind, id, topicKind.Delete,
		func(tx store.Tx, t *model.Topic) error {
			t.UpdatedAt = s.stamp()
			return pendingDelete(&t.Status, "topic", id)
		})
	return err
}
