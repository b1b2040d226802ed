#include "common/crypto/tls.h"

#include <openssl/err.h>

#ifdef _WIN32
// POLLIN/POLLOUT; lean, so that <wincrypt.h> (X509_NAME...) stays out.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#else
#include <poll.h>
#endif

#include <algorithm>

namespace octo {
namespace {

constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
constexpr char kTls13Suites[] = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

// Per-handshake state reached from the verify callback through SSL app data.
// A connection without one refuses every certificate.
struct VerifyState {
  const PeerCheck* accept = nullptr;  // null or empty: refuse
  PeerCertificate refused;            // set when a certificate is refused
};

int Refuse(X509_STORE_CTX* store) {
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

int VerifyCallback(int /*preverify_ok*/, X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* state = ssl != nullptr ? static_cast<VerifyState*>(SSL_get_app_data(ssl)) : nullptr;
  if (state == nullptr) return Refuse(store);  // fail closed: nobody attached a check
  // Self-signed certificates never verify against a CA store; that is
  // expected. Only the end-entity certificate's thumbprint matters.
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  if (cert == nullptr) return Refuse(store);
  try {  // nothing may be thrown through OpenSSL
    std::string tp = Thumbprint(cert);
    if (state->accept != nullptr && *state->accept && (*state->accept)(tp)) return 1;
    state->refused = {std::move(tp), Describe(cert).subject};
  } catch (...) {
  }
  return Refuse(store);
}

}  // namespace

Result<SslCtxPtr> MakeTlsContext(TlsRole role, const Identity& identity) {
  SslCtxPtr ctx(SSL_CTX_new(role == TlsRole::kServer ? TLS_server_method() : TLS_client_method()));
  if (!ctx) return OpenSslError("cannot create a TLS context");
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 || SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(c, kTls13Suites) != 1) {
    return OpenSslError("cannot set the TLS versions and ciphers");
  }
  if (SSL_CTX_use_certificate(c, identity.certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(c, identity.key.get()) != 1 || SSL_CTX_check_private_key(c) != 1) {
    return OpenSslError("cannot use the certificate for TLS");
  }
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(c, 0);
  // Idle connections (a Server's pool, a Tentacle's parked ones) give back
  // their record buffers (about 34 KiB each) until they are used again.
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, VerifyCallback);
  return ctx;
}

TlsStream::TlsStream(TlsStream&&) noexcept = default;
TlsStream& TlsStream::operator=(TlsStream&&) noexcept = default;
TlsStream::~TlsStream() = default;

Status TlsStream::Drive(int rc, Deadline deadline, const char* what) {
  int err = SSL_get_error(ssl_.get(), rc);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      return WaitFd(fd_.get(), POLLIN, deadline);
    case SSL_ERROR_WANT_WRITE:
      return WaitFd(fd_.get(), POLLOUT, deadline);
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return FailedPrecondition("the connection was closed");
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        const int e = LastSocketError();
        return FailedPrecondition(e != 0 && rc < 0 ? "the connection was reset: " + SocketErrorText(e)
                                                   : std::string("the connection was closed"));
      }
      [[fallthrough]];
    default:
      return OpenSslError(std::string(what) + " failed", StatusCode::kFailedPrecondition);
  }
}

Status TlsStream::Handshake(const PeerCheck& check, Deadline deadline, PeerCertificate* refused) {
  VerifyState state{&check, {}};
  SSL_set_app_data(ssl_.get(), &state);
  Status st = Status::Ok();
  for (;;) {
    int rc = SSL_do_handshake(ssl_.get());
    if (rc == 1) break;
    st = Drive(rc, deadline, "the TLS handshake");
    if (!st.ok()) break;
  }
  // Any later verification (there should be none: no renegotiation, no
  // post-handshake authentication) finds no state and refuses.
  SSL_set_app_data(ssl_.get(), nullptr);
  if (!state.refused.thumbprint.empty()) {
    *refused = std::move(state.refused);
    return PermissionDenied("the certificate " + refused->thumbprint + " is not trusted");
  }
  OCTO_RETURN_IF_ERROR(st);
  if (X509* peer = SSL_get0_peer_certificate(ssl_.get())) {
    peer_thumbprint_ = Thumbprint(peer);
    peer_subject_ = Describe(peer).subject;
  }
  return Status::Ok();
}

Result<TlsStream> TlsStream::Accept(Fd fd, SSL_CTX* ctx, const PeerCheck& accept, Deadline deadline,
                                    std::string* refused) {
  TlsStream s;
  s.fd_ = std::move(fd);
  SetNonBlocking(s.fd_.get());
  s.ssl_.reset(SSL_new(ctx));
  if (!s.ssl_ || SSL_set_fd(s.ssl_.get(), s.fd_.get()) != 1) return OpenSslError("cannot start TLS");
  SSL_set_accept_state(s.ssl_.get());
  PeerCertificate presented;
  Status st = s.Handshake(accept, deadline, &presented);
  if (!st.ok()) {
    if (st.code() == StatusCode::kPermissionDenied && refused != nullptr) *refused = presented.thumbprint;
    return st;
  }
  return s;
}

Result<TlsStream> TlsStream::Connect(Fd fd, SSL_CTX* ctx, const std::string& pinned, Deadline deadline,
                                     PeerCertificate* presented) {
  return Connect(std::move(fd), ctx, std::vector<std::string>{pinned}, deadline, presented);
}

Result<TlsStream> TlsStream::Connect(Fd fd, SSL_CTX* ctx, const std::vector<std::string>& pinned, Deadline deadline,
                                     PeerCertificate* presented) {
  TlsStream s;
  s.fd_ = std::move(fd);
  SetNonBlocking(s.fd_.get());
  s.ssl_.reset(SSL_new(ctx));
  if (!s.ssl_ || SSL_set_fd(s.ssl_.get(), s.fd_.get()) != 1) return OpenSslError("cannot start TLS");
  SSL_set_connect_state(s.ssl_.get());
  // An empty pin never matches: no certificate has an empty thumbprint.
  const auto is_pinned = [&pinned](const std::string& tp) {
    return !tp.empty() && std::find(pinned.begin(), pinned.end(), tp) != pinned.end();
  };
  const PeerCheck check = is_pinned;
  PeerCertificate refused;
  Status st = s.Handshake(check, deadline, &refused);
  // Defence in depth: the pins are checked again on what the handshake ended
  // with (and no certificate at all never matches).
  if (st.ok() && !is_pinned(s.peer_thumbprint_)) {
    refused = {s.peer_thumbprint_, s.peer_subject_};
    st = PermissionDenied("the certificate " + refused.thumbprint + " is not trusted");
  }
  if (!st.ok()) {
    if (st.code() == StatusCode::kPermissionDenied && presented != nullptr) *presented = std::move(refused);
    return st;
  }
  return s;
}

Status TlsStream::Write(const std::string& data, Deadline deadline) {
  size_t off = 0;
  while (off < data.size()) {
    size_t written = 0;
    int rc = SSL_write_ex(ssl_.get(), data.data() + off, data.size() - off, &written);
    if (rc == 1) {
      off += written;
      continue;
    }
    OCTO_RETURN_IF_ERROR(Drive(rc, deadline, "sending"));
  }
  return Status::Ok();
}

Result<std::string> TlsStream::Read(size_t n, Deadline deadline) {
  std::string out(n, '\0');
  size_t off = 0;
  while (off < n) {
    size_t got = 0;
    int rc = SSL_read_ex(ssl_.get(), out.data() + off, n - off, &got);
    if (rc == 1) {
      off += got;
      continue;
    }
    OCTO_RETURN_IF_ERROR(Drive(rc, deadline, "receiving"));
  }
  return out;
}

Result<std::string> TlsStream::ReadLine(size_t max, Deadline deadline) {
  std::string line;
  for (;;) {
    auto c = Read(1, deadline);
    if (!c.ok()) return c.status();
    if ((*c)[0] == '\n') break;
    if (line.size() >= max) return InvalidArgument("the line is longer than " + std::to_string(max) + " bytes");
    line.push_back((*c)[0]);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

void TlsStream::Close(Deadline deadline) {
  if (!ssl_) return;
  for (int i = 0; i < 4; ++i) {
    int rc = SSL_shutdown(ssl_.get());
    if (rc != 0 && rc != -1) break;
    if (rc == 0) break;  // close_notify sent; not waiting for the peer's
    if (!Drive(rc, deadline, "closing").ok()) break;
  }
  ERR_clear_error();
  ssl_.reset();
  fd_.reset();
}

Result<std::string> TlsStream::Peek(size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  const int rc = SSL_peek_ex(ssl_.get(), out.data(), n, &got);
  if (rc == 1) {
    out.resize(got);
    return out;
  }
  const int err = SSL_get_error(ssl_.get(), rc);
  ERR_clear_error();
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return std::string();
  return FailedPrecondition("the connection was closed");
}

bool TlsStream::HasBuffered() const { return ssl_ && SSL_has_pending(ssl_.get()) == 1; }

bool TlsStream::IdleAndOpen() const {
  if (!ssl_ || fd_.get() < 0 || HasBuffered()) return false;
  return !ReadableNow(fd_.get());  // readable (a close_notify, EOF, data), hung up or failed: not reusable
}

std::string TlsStream::protocol() const { return ssl_ ? SSL_get_version(ssl_.get()) : ""; }
std::string TlsStream::cipher() const { return ssl_ ? SSL_get_cipher_name(ssl_.get()) : ""; }

Result<std::shared_ptr<const PresentedIdentity>> MakePresentedIdentity(TlsRole role, const Identity& identity) {
  auto ctx = MakeTlsContext(role, identity);
  if (!ctx.ok()) return ctx.status();
  auto presented = std::make_shared<PresentedIdentity>();
  presented->ctx = std::shared_ptr<SSL_CTX>(ctx->release(), SSL_CTX_free);
  presented->thumbprint = Thumbprint(identity.certificate.get());
  return std::shared_ptr<const PresentedIdentity>(std::move(presented));
}

}  // namespace octo
