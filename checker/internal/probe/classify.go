package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
)

// classify turns a transport error into the short words kept as a circuit's lastError.
func classify(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var alert tls.AlertError
	var errno syscall.Errno
	var opErr *net.OpError
	var redirErr *redirectError
	switch {
	case errors.As(err, &redirErr):
		return short(redirErr.Error())
	case errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "timeout"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "dns: no such host " + dnsErr.Name
		}
		return "dns: " + short(dnsErr.Err) + " for " + dnsErr.Name
	case errors.As(err, &unknownCA):
		return "tls: certificate signed by unknown authority"
	case errors.As(err, &hostErr):
		return "tls: " + short(hostErr.Error())
	case errors.As(err, &invalidCert):
		return "tls: " + short(invalidCert.Error())
	case errors.As(err, &certErr):
		return "tls: " + short(certErr.Err.Error())
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "tls: server answered plain HTTP"
	case errors.As(err, &alert):
		return "tls: " + short(alert.Error())
	case errors.As(err, &opErr) && opErr.Op == "dial" && errors.As(err, &errno):
		return "connect: " + errno.Error()
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "connect: " + short(opErr.Err.Error())
	case errors.As(err, &errno):
		return "connection: " + errno.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "connection: closed in the middle of the answer"
	case errors.Is(err, io.EOF):
		return "connection: closed without an answer"
	}
	return "error: " + short(unwrapURL(err).Error())
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// unwrapURL drops net/http's `Get "https://...": ` prefix, which repeats what the target says.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// short keeps a classification to one line of at most 120 characters.
func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
