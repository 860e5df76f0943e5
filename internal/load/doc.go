// Package load drives a running tocsin with signed Security Hub findings and measures what comes
// out: the load generator of cmd/tocsin-load, and the library the crash and replica tests build on.
//
// Three parts live apart so that an orchestrator can keep two of them across tocsin restarts and
// several runs:
//
//   - a Signer signs SNS notifications as SNS does, with a CA kept in a directory, and serves the
//     signing certificate on a fixed loopback address; tocsin is started with ServeFlags
//     (--sns-cert-hosts ADDR --sns-ca-file DIR/ca.pem) before or after it, once;
//   - a Sink is the SMTP server tocsin's email pages go to (--smtp-url); it records each email's
//     time, recipients, Subject, Message-ID, X-Tocsin-Alert-Id and the finding's Marker;
//   - Run sends one run's requests (Config) to one or more tocsins, on loopback only, and returns a
//     Result: every acknowledged request, every email, the samples of the server's RSS, CPU and
//     goroutines, and a Summary (throughput, HTTP and finding-to-page latency, errors by class,
//     pages per finding).
//
// A run mixes four kinds of request (Mix): new findings, redeliveries of a message already
// acknowledged (same MessageId, byte for byte), updates of an acknowledged finding (same Id and
// Marker, later UpdatedAt, other severity and title) and resolves of one (Workflow.Status RESOLVED
// or RecordState ARCHIVED, which close its alert). Each finding's Title starts with
// Marker(run, seq), "load#RUN.SEQ#", so the Subject of its page names it; its Id is
// FindingID(run, seq).
//
// Requests are signed ahead of the senders by Config.Signers goroutines, each building the event
// from an embedded GuardDuty finding and signing it with RSA-2048. Signing is the generator's main
// cost: about 2 ms of CPU per request, so about 1,000 signed requests a second on this repository's
// 2-core benchmark machine (BenchmarkSignFinding), ten times what tocsin pages today, and about 0.4
// of a core taken from the server at 200 requests a second. Redeliveries cost no signature.
//
// A request that meets a refused connection (a tocsin killed and restarting), any other transport
// error, a 5xx, 408 or 429 is retried, on the next target, with backoff from 50 ms to 1 s, for up
// to Config.RetryFor; every failed attempt is counted. Only a 2xx acknowledges: that is the promise
// tocsin makes and a checker holds it to.
package load
