// Client-connection liveness for request handlers. cpp-httplib (0.11, Debian 12) does not hand a
// handler its connection's socket, so FindClientSocket() looks it up among the process's open
// sockets by the request's local and remote address and port (unique for an open TCP connection);
// PeerClosed() then tells whether the client hung up, without consuming any bytes. The scheduler
// polls it so that a request whose client left is dropped from the queue or stopped mid-generation.
//
// Thread-safe (system calls only).
#pragma once

#include <httplib.h>

namespace isv {

// The socket the request arrived on, or -1 when it cannot be found. Valid while the handler runs.
int FindClientSocket(const httplib::Request& req);

// True when the peer of `fd` has closed the connection (or it failed). Never blocks.
bool PeerClosed(int fd);

}  // namespace isv
