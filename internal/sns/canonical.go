package sns

import "fmt"

// StringToSign returns the bytes SNS signs for m, built as AWS documents it: for each signed field, in
// byte order of the names, the name, a newline, the value and a newline. A Notification signs Message,
// MessageId, Subject (only when present), Timestamp, TopicArn and Type; a SubscriptionConfirmation or
// UnsubscribeConfirmation signs Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn and Type.
//
// Values are used exactly as decoded from JSON, so escapes such as \n are already real newlines, as
// AWS requires. StringToSign fails only for an unknown Type; it does not check that required fields are
// present (Validate does).
func StringToSign(m *Message) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: no message", ErrMalformed)
	}
	type pair struct{ name, value string }
	var pairs []pair
	switch m.Type {
	case TypeNotification:
		pairs = []pair{{"Message", m.Message}, {"MessageId", m.MessageID}}
		if m.Subject != "" {
			pairs = append(pairs, pair{"Subject", m.Subject})
		}
		pairs = append(pairs, pair{"Timestamp", m.Timestamp}, pair{"TopicArn", m.TopicARN}, pair{"Type", string(m.Type)})
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		pairs = []pair{
			{"Message", m.Message}, {"MessageId", m.MessageID}, {"SubscribeURL", m.SubscribeURL},
			{"Timestamp", m.Timestamp}, {"Token", m.Token}, {"TopicArn", m.TopicARN}, {"Type", string(m.Type)},
		}
	default:
		return nil, fmt.Errorf("%w: cannot build the string to sign for unknown Type %q", ErrMalformed, truncate(string(m.Type)))
	}
	size := 0
	for _, p := range pairs {
		size += len(p.name) + len(p.value) + 2
	}
	out := make([]byte, 0, size)
	for _, p := range pairs {
		out = append(out, p.name...)
		out = append(out, '\n')
		out = append(out, p.value...)
		out = append(out, '\n')
	}
	return out, nil
}
