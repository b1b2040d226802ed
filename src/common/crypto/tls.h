// Mutual TLS for the Server-Tentacle channel, with OpenSSL.
//
// Both sides present their own self-signed certificate. Chains, names and
// dates are ignored: the only check is the peer's thumbprint. TLS 1.2 is the
// minimum (1.3 preferred), ECDHE with AES-GCM or ChaCha20 only, no session
// resumption (every connection proves its certificate).
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/crypto/certificate.h"
#include "common/base/net.h"

namespace octo {

using SslCtxPtr = std::unique_ptr<SSL_CTX, OsslDeleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OsslDeleter<SSL_free>>;

enum class TlsRole { kServer, kClient };

// Judges a peer certificate, given its thumbprint, during the handshake:
// true accepts it. Called on the handshaking thread; must not throw.
using PeerCheck = std::function<bool(const std::string& thumbprint)>;

// The certificate a peer presented.
struct PeerCertificate {
  std::string thumbprint;
  std::string subject;  // "CN=Octopus Tentacle"
};

// A context presenting `identity`. A kServer context requests (but does not
// require) a client certificate. Peer certificates are judged per connection
// by the check TlsStream::Accept or TlsStream::Connect attaches; a connection
// made from the context without one (SSL_new directly) fails closed: every
// peer certificate is refused.
Result<SslCtxPtr> MakeTlsContext(TlsRole role, const Identity& identity);

// What a running service presents: a context and its certificate's
// thumbprint, made together and swapped together (service --reload). A
// connection keeps the context it was made with.
struct PresentedIdentity {
  std::shared_ptr<SSL_CTX> ctx;
  std::string thumbprint;
};
Result<std::shared_ptr<const PresentedIdentity>> MakePresentedIdentity(TlsRole role, const Identity& identity);

// One TLS connection over a non-blocking socket; every operation has a
// deadline. Not thread-safe; one thread per stream.
class TlsStream {
 public:
  // Runs the server side of the handshake. `accept` is called with the
  // client certificate's thumbprint during the handshake; returning false
  // (or an empty `accept`) aborts it with a TLS alert (the client sees its
  // certificate refused). A client without a certificate is let through
  // (peer_thumbprint() is ""). A refused certificate gives PermissionDenied,
  // with its thumbprint in `*refused` when that is not null.
  static Result<TlsStream> Accept(Fd fd, SSL_CTX* ctx, const PeerCheck& accept, Deadline deadline,
                                  std::string* refused = nullptr);
  // Runs the client side of the handshake, pinning the server certificate's
  // thumbprint to the set `pinned` (upper-case thumbprints): the server must
  // present one of them. Another certificate aborts the handshake as soon
  // as it arrives, before our certificate is sent or anything is signed with
  // our key, and gives PermissionDenied, with what the server presented in
  // `*presented` when that is not null. An empty set refuses every
  // certificate. Which pin matched is peer_thumbprint(). Other failures:
  // DeadlineExceeded ("timed out"); FailedPrecondition (the connection
  // closed or reset, a TLS error: with TLS 1.2, how a server refusing our
  // certificate shows).
  static Result<TlsStream> Connect(Fd fd, SSL_CTX* ctx, const std::vector<std::string>& pinned, Deadline deadline,
                                   PeerCertificate* presented = nullptr);
  // As above, pinning the one thumbprint `pinned` ("" refuses every certificate).
  static Result<TlsStream> Connect(Fd fd, SSL_CTX* ctx, const std::string& pinned, Deadline deadline,
                                   PeerCertificate* presented = nullptr);

  TlsStream(TlsStream&&) noexcept;
  TlsStream& operator=(TlsStream&&) noexcept;
  ~TlsStream();

  // Every operation below gives DeadlineExceeded "timed out" when its
  // deadline passes.
  Status Write(const std::string& data, Deadline deadline);
  // Reads exactly `n` bytes. FailedPrecondition "the connection was closed"
  // on a clean close before that.
  Result<std::string> Read(size_t n, Deadline deadline);
  // Reads up to and including '\n', at most `max` bytes; returns it without "\r\n".
  Result<std::string> ReadLine(size_t max, Deadline deadline);
  // Sends close_notify (best effort, bounded) and closes.
  void Close(Deadline deadline);

  // Up to `n` received bytes, left in place for Read, without waiting:
  // fewer (or none) when no more has arrived; OpenSSL returns the bytes of
  // one TLS record at a time. FailedPrecondition when the connection is
  // closed or failed.
  Result<std::string> Peek(size_t n);
  // Whether OpenSSL holds received bytes not read yet (a reader that waits
  // on the socket must look here first).
  bool HasBuffered() const;
  // For an idle connection, on which the peer should send nothing until it
  // is asked: false when it has closed, reset, or sent anything (decided
  // without waiting). A connection pool asks before reusing one.
  bool IdleAndOpen() const;

  const std::string& peer_thumbprint() const { return peer_thumbprint_; }
  const std::string& peer_subject() const { return peer_subject_; }
  std::string protocol() const;  // "TLSv1.3"
  std::string cipher() const;
  int fd() const { return fd_.get(); }

 private:
  TlsStream() = default;
  // Runs the handshake with `check` attached; PermissionDenied with the
  // refused certificate in `*refused` when `check` refused it.
  Status Handshake(const PeerCheck& check, Deadline deadline, PeerCertificate* refused);
  Status Drive(int rc, Deadline deadline, const char* what);

  Fd fd_;
  SslPtr ssl_;
  std::string peer_thumbprint_;
  std::string peer_subject_;
};

}  // namespace octo
