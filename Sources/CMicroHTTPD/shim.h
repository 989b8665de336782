// GNU libmicrohttpd (Debian libmicrohttpd-dev), the HTTP/1.1 server under `clex serve`.
// Swift cannot call C variadic functions, so the two variadic calls the server makes are
// wrapped here with fixed arguments.
#include <sys/types.h>
#include <sys/socket.h>
#include <stdint.h>
#include <microhttpd.h>

/// Starts a daemon with one thread per connection (handlers may block) listening at `address`,
/// calling `handler` for each request and `completed` when a request ends (however it ends).
/// `timeout` closes connections idle that many seconds; `limit` caps open connections.
static inline struct MHD_Daemon *clex_mhd_start(const struct sockaddr *address,
                                                MHD_AccessHandlerCallback handler, void *handler_cls,
                                                MHD_RequestCompletedCallback completed, void *completed_cls,
                                                unsigned int timeout, unsigned int limit, unsigned int ipv6) {
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
    if (ipv6) flags |= MHD_USE_IPv6;
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_SOCK_ADDR, address,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                            MHD_OPTION_CONNECTION_LIMIT, limit,
                            MHD_OPTION_END);
}

/// The socket of `connection` (-1 when unknown).
static inline int clex_mhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
}

/// The port the daemon listens on (after binding port 0).
static inline uint16_t clex_mhd_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}
