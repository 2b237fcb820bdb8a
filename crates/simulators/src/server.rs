//! The HTTP/1.1 server under every simulator, on a dedicated tokio runtime thread so that
//! synchronous tests and the async host can both use the simulators. With TLS configured, each
//! connection first completes a TLS handshake (a refused one is counted and closed).
//!
//! Each call goes: read the whole request → count and log it → apply the fault → check the
//! bearer token (if required) → the service's handler.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::control::Control;
use crate::fault::Action;
use crate::http::{RecordedRequest, Reply};

/// Largest request body a simulator reads.
const MAX_BODY_BYTES: usize = 1 << 20;

/// A simulated service: routes name calls for the counters, the handler answers them.
pub(crate) trait Service: Send + Sync + 'static {
    /// The route label of a call (e.g. `"GET /users/{id}"`), `None` when no route matches.
    fn route(&self, method: &str, path: &str) -> Option<&'static str>;
    /// The answer to a call that got past the faults and the token gate.
    fn handle(&self, request: &RecordedRequest) -> Reply;
}

/// One simulator ready to be served.
pub(crate) struct Job {
    pub(crate) listener: StdListener,
    pub(crate) control: Arc<Control>,
    pub(crate) service: Arc<dyn Service>,
    /// HTTPS when set.
    pub(crate) tls: Option<TlsAcceptor>,
}

/// Binds `127.0.0.1:port` (0 picks a free port).
pub(crate) fn bind(port: u16) -> io::Result<StdListener> {
    let listener = StdListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The name of the one thread all simulators of a [`crate::Simulators`] run on (a benchmark
/// reads its CPU time from `/proc` to check that the stand-ins keep up).
pub const RUNTIME_THREAD_NAME: &str = "simulators";

/// The runtime thread serving the simulators; dropping it stops them and joins the thread.
#[derive(Debug)]
pub(crate) struct Runner {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Runner {
    /// Starts serving every job on one current-thread runtime on its own thread.
    pub(crate) fn start(jobs: Vec<Job>) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listeners = {
            let _context = runtime.enter();
            jobs.into_iter()
                .map(|job| {
                    Ok((
                        TcpListener::from_std(job.listener)?,
                        job.control,
                        job.service,
                        job.tls,
                    ))
                })
                .collect::<io::Result<Vec<_>>>()?
        };
        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(RUNTIME_THREAD_NAME.into())
            .spawn(move || {
                runtime.block_on(async move {
                    for (listener, control, service, tls) in listeners {
                        tokio::spawn(accept_loop(listener, control, service, tls));
                    }
                    // Resolves on an explicit shutdown and when the sender is dropped.
                    let _ = stopped.await;
                });
                // Dropping the runtime drops every connection task, hung ones included.
            })?;
        Ok(Self {
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    control: Arc<Control>,
    service: Arc<dyn Service>,
    tls: Option<TlsAcceptor>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        control.connection_accepted();
        // Without it a handler that answers after a delay stalls ~40 ms (Nagle + delayed ACK).
        let _ = stream.set_nodelay(true);
        let reset = Arc::new(AtomicBool::new(false));
        let stream = ResettableStream {
            stream,
            reset: Arc::clone(&reset),
        };
        let control = Arc::clone(&control);
        let service = Arc::clone(&service);
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve(TokioIo::new(stream), control, service, reset).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => serve(TokioIo::new(stream), control, service, reset).await,
                    // No certificate, one from another CA, or no TLS at all: the request
                    // never reaches the service.
                    Err(_) => control.handshake_refused(),
                },
            }
        });
    }
}

/// Serves HTTP/1.1 on one connection (plain or TLS) until it closes.
async fn serve<I>(io: I, control: Arc<Control>, service: Arc<dyn Service>, reset: Arc<AtomicBool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let answer = service_fn(move |request| {
        answer(
            Arc::clone(&control),
            Arc::clone(&service),
            Arc::clone(&reset),
            request,
        )
    });
    // Errors here are client disconnects and injected resets: nothing to report.
    let _ = http1::Builder::new().serve_connection(io, answer).await;
}

async fn answer(
    control: Arc<Control>,
    service: Arc<dyn Service>,
    reset: Arc<AtomicBool>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, InjectedReset> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(
                Reply::problem(413, "Content Too Large", "request body too large").into_response(),
            );
        }
    };
    let request = RecordedRequest::new(&parts, body);
    let route = service.route(&request.method, &request.path);
    let mut answer_after = None;
    match control.admit(route, request.clone()) {
        Action::Proceed => {}
        Action::Delay(delay) => tokio::time::sleep(delay).await,
        Action::DelayAnswer(delay) => answer_after = Some(delay),
        Action::Respond(reply) => return Ok(reply.into_response()),
        Action::Hang => std::future::pending::<()>().await,
        Action::Reset => {
            reset.store(true, Ordering::SeqCst);
            return Err(InjectedReset);
        }
    }
    if let Some(reply) = control.check_auth(&request) {
        return Ok(reply.into_response());
    }
    let reply = service.handle(&request);
    if let Some(delay) = answer_after {
        tokio::time::sleep(delay).await;
    }
    Ok(reply.into_response())
}

/// The error that makes hyper drop a connection without answering.
#[derive(Debug)]
struct InjectedReset;

impl std::fmt::Display for InjectedReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset injected by the simulator")
    }
}

impl std::error::Error for InjectedReset {}

/// A TCP stream that closes with a reset (RST, via `SO_LINGER` 0) instead of a normal close
/// once `reset` is set, so the client sees "connection reset by peer".
struct ResettableStream {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
