//! A one-time wake-up between tasks of one component instance: [`pair`] makes a [`Signal`]
//! and the [`Wakeup`] it sends; one task awaits [`Wakeup::wait`], another calls
//! [`Signal::send`] (or drops the signal, which sends it).
//!
//! Inside Wasm it is a component-model `future` without payload, through the intrinsics
//! `wit-component` provides under `$root` for it (`[future-new-unit]` and friends): the
//! write reaches the reading task as an ordinary component-model event, which is how the
//! component model lets tasks of one instance wake each other. Why not a Rust channel there:
//! `wit-bindgen` 0.57 aborts an instance whose task sleeps on Rust-side events only, and its
//! `inter-task-wakeup` feature traps on wasmtime since bytecodealliance/wasmtime#13415 (see
//! `guest::turns`). Natively (unit tests of what uses it) it is a `futures` one-shot channel.
//!
//! This crate holds the only handwritten `unsafe` code of the guest crates (the FFI to those
//! intrinsics and wit-bindgen's raw future operations), so `guest` can forbid it.

#![warn(missing_docs, unreachable_pub)]
#![deny(unsafe_code)]

pub use wake::{Signal, Wakeup, pair};

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod wake {
    use std::alloc::Layout;

    use wit_bindgen::rt::async_support::{
        FutureOps, RawFutureReader, RawFutureWriter, raw_future_new,
    };

    /// The writing end: [`Signal::send`] (or dropping it) wakes the reader's task.
    pub struct Signal(Option<RawFutureWriter<UnitFuture>>);
    /// The reading end: [`Wakeup::wait`] sleeps until the signal is sent.
    pub struct Wakeup(RawFutureReader<UnitFuture>);

    /// A new signal and the wake-up it sends.
    pub fn pair() -> (Signal, Wakeup) {
        // SAFETY: `UnitFuture` is the component model's unit future (no payload to lift or
        // lower), and the two ends are owned by the returned values.
        let (writer, reader) = unsafe { raw_future_new(UnitFuture) };
        (Signal(Some(writer)), Wakeup(reader))
    }

    impl Signal {
        /// Writes the unit value without waiting (the write completes when the reader reads;
        /// a reader already gone makes it a no-op).
        pub fn send(mut self) {
            self.write();
        }

        fn write(&mut self) {
            if let Some(writer) = self.0.take() {
                writer.write_and_forget(());
            }
        }
    }

    /// A future's writable end dropped without a value while its reader waits is a trap in
    /// the component model, so an unsent signal is sent when dropped.
    impl Drop for Signal {
        fn drop(&mut self) {
            self.write();
        }
    }

    impl Wakeup {
        /// Sleeps until the signal is sent.
        pub async fn wait(self) {
            self.0.await;
        }
    }

    /// `future` (no payload): the intrinsics `wit-component` provides under `$root` for it
    /// (the names `wit-bindgen`'s own unit stream uses, for a future).
    #[derive(Clone, Copy)]
    struct UnitFuture;

    #[link(wasm_import_module = "$root")]
    unsafe extern "C" {
        #[link_name = "[future-new-unit]"]
        fn unit_new() -> u64;
        #[link_name = "[async-lower][future-write-unit]"]
        fn unit_write(future: u32, val: *const u8) -> u32;
        #[link_name = "[async-lower][future-read-unit]"]
        fn unit_read(future: u32, val: *mut u8) -> u32;
        #[link_name = "[future-cancel-read-unit]"]
        fn unit_cancel_read(future: u32) -> u32;
        #[link_name = "[future-cancel-write-unit]"]
        fn unit_cancel_write(future: u32) -> u32;
        #[link_name = "[future-drop-readable-unit]"]
        fn unit_drop_readable(future: u32);
        #[link_name = "[future-drop-writable-unit]"]
        fn unit_drop_writable(future: u32);
    }

    impl FutureOps for UnitFuture {
        type Payload = ();

        fn new(&mut self) -> u64 {
            // SAFETY: a component-model intrinsic without arguments.
            unsafe { unit_new() }
        }
        fn elem_layout(&mut self) -> Layout {
            Layout::new::<()>()
        }
        unsafe fn lower(&mut self, (): (), _dst: *mut u8) {}
        unsafe fn dealloc_lists(&mut self, _dst: *mut u8) {}
        unsafe fn lift(&mut self, _dst: *mut u8) {}
        unsafe fn start_write(&mut self, future: u32, val: *const u8) -> u32 {
            // SAFETY: forwarded from wit-bindgen's caller, which owns `future`.
            unsafe { unit_write(future, val) }
        }
        unsafe fn start_read(&mut self, future: u32, val: *mut u8) -> u32 {
            // SAFETY: as above.
            unsafe { unit_read(future, val) }
        }
        unsafe fn cancel_read(&mut self, future: u32) -> u32 {
            // SAFETY: as above.
            unsafe { unit_cancel_read(future) }
        }
        unsafe fn cancel_write(&mut self, future: u32) -> u32 {
            // SAFETY: as above.
            unsafe { unit_cancel_write(future) }
        }
        unsafe fn drop_readable(&mut self, future: u32) {
            // SAFETY: as above.
            unsafe { unit_drop_readable(future) }
        }
        unsafe fn drop_writable(&mut self, future: u32) {
            // SAFETY: as above.
            unsafe { unit_drop_writable(future) }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod wake {
    use futures::channel::oneshot;

    /// The sending end of a [`pair`].
    pub struct Signal(oneshot::Sender<()>);
    /// The waiting end of a [`pair`].
    pub struct Wakeup(oneshot::Receiver<()>);

    /// A new signal and the wake-up it sends.
    pub fn pair() -> (Signal, Wakeup) {
        let (sender, receiver) = oneshot::channel();
        (Signal(sender), Wakeup(receiver))
    }

    impl Signal {
        /// Wakes the waiter.
        pub fn send(self) {
            let _ = self.0.send(());
        }
    }

    impl Wakeup {
        /// Sleeps until the signal is sent (or dropped).
        pub async fn wait(self) {
            let _ = self.0.await;
        }
    }
}

/// These run the native one-shot stand-in only; the Wasm side is exercised through the host by
/// the integration tests (every concurrent order waits on it).
#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::pair;

    #[test]
    fn a_sent_signal_wakes_its_waiter() {
        let (signal, wakeup) = pair();
        signal.send();
        block_on(wakeup.wait());
    }

    #[test]
    fn a_dropped_signal_wakes_its_waiter_too() {
        let (signal, wakeup) = pair();
        let waiter = std::thread::spawn(move || block_on(wakeup.wait()));
        drop(signal);
        waiter.join().expect("the waiter returns");
    }
}
