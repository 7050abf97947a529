"""One framing for every NUT-tokenized byte stream: words in, hooks out.

upsd's network side, both ends of the driver socket and upssched's pipe all
read NUT's parseconf lines.  :class:`WordReceiver` feeds the bytes to the
tokenizer and hands each line's words to :meth:`WordReceiver.wordsReceived`.

Why not a :class:`~twisted.protocols.basic.LineReceiver`: a line is not what
lies between two LFs.

* A quoted word, or a backslash, continues a line across an LF: only the
  tokenizer knows where a line ends.
* A parse error drops the rest of the read it came in (upsd reads 512 bytes at a
  time, so a class sets :attr:`WordReceiver.read_size` to cut reads as NUT does).
* After STARTTLS, bytes that came in clear behind the request are discarded, not
  read as commands (:meth:`WordReceiver.discard`).
"""

from __future__ import annotations

from twisted.internet import protocol
from twisted.internet.interfaces import ITransport

from nutwist.config.tokenizer import Tokenizer, TokenizerError

Item = list[str] | TokenizerError


class WordReceiver(protocol.Protocol):
    """A stream of tokenized lines.  Subclasses override the hooks they need.

    * :meth:`wordsReceived`: one line's words (an empty list for an empty line);
    * :meth:`parseError`: a line the tokenizer refused; True drops the rest of the read;
    * :meth:`lineTooLong`: more than :meth:`line_limit` (default :attr:`max_line`) bytes
      buffered without a line end;
    * :meth:`stopped`: whether to stop handing out words (a connection closing);
    * :meth:`interrupted`: whether to stop and keep the rest for later;
    * :meth:`discarded`: called when :meth:`discard` dropped the rest of a read.
    """

    #: set by makeConnection before any data arrives
    transport: ITransport

    #: bytes handed to the tokenizer at a time (0: a read is taken whole)
    read_size = 0
    #: bytes buffered without a line end before :meth:`lineTooLong`
    max_line = 16 * 1024

    def __init__(self) -> None:
        self.tokenizer = Tokenizer()
        #: set by :meth:`discard`: the rest of the current read is not to be read
        self.discarding = False

    def dataReceived(self, data: bytes) -> None:
        self.discarding = False
        self.feed(data)

    def feed(self, data: bytes) -> None:
        """Tokenize ``data`` (``read_size`` bytes at a time) and deliver its lines."""
        size = self.read_size or len(data) or 1
        for start in range(0, len(data), size):
            if self.stopped():
                return
            items = self.tokenizer.feed(data[start : start + size])
            if not self.deliver(items, data[start + size :]):
                return
        if self.tokenizer.buffered > self.line_limit():
            self.lineTooLong()

    def deliver(self, items: list[Item], rest: bytes = b"") -> bool:
        """Hand ``items`` out in order; False when the stream stopped, was interrupted
        (``rest``: the bytes of the read not yet tokenized) or discarded the rest."""
        for i, item in enumerate(items):
            if isinstance(item, TokenizerError):
                if self.parseError(item):
                    self.tokenizer.reset()
                    break
            else:
                self.wordsReceived(item)
            if self.stopped():
                return False
            if self.discarding:
                self.tokenizer.reset()
                self.discarded()
                return False
            if self.interrupted(items[i + 1 :], rest):
                return False
        return True

    def discard(self) -> None:
        """Drop the rest of the current read and whatever line is under way."""
        self.discarding = True
        self.tokenizer.reset()

    # --- hooks --------------------------------------------------------------------

    def wordsReceived(self, words: list[str]) -> None:
        raise NotImplementedError

    def line_limit(self) -> int:
        return self.max_line

    def parseError(self, error: TokenizerError) -> bool:
        return False

    def lineTooLong(self) -> None:
        self.tokenizer.reset()
        if self.transport is not None:
            self.transport.loseConnection()

    def stopped(self) -> bool:
        return False

    def interrupted(self, items: list[Item], rest: bytes) -> bool:
        return False

    def discarded(self) -> None:
        pass


__all__ = ["Item", "WordReceiver"]
