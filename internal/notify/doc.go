// Package notify is how tocsin reaches a person: the [Channel] interface that every delivery method
// (email, SMS, voice, chat, webhook; one sub-package each) implements, the [Message] a channel is given,
// and the errors that tell the caller whether trying again can help.
//
// A Message is plain data: everything a channel needs to page one person about one alert, copied out
// of the domain by the caller (the notification job), so that a channel imports no store, no job queue
// and no HTTP API, and can be tested with a literal.
//
// The caller owns retries. A channel makes one attempt per Send and returns nil, an error marked
// [Permanent] (the message can never be delivered as it is: a bad address, a 4xx from the provider),
// or any other error, which is temporary: the caller tries again with backoff, sooner if the error
// carries a [RetryAfter] hint. Every Message carries an IdempotencyKey that stays the same across
// those attempts; channels pass it to their provider where the provider supports one, so that an
// attempt that succeeded but looked like a failure (a timeout after the provider accepted) does not
// page twice where the provider can prevent it.
package notify
