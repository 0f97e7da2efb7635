#include <gtest/gtest.h>

#include "gateway/event_stream.hpp"

namespace gpupool::testing {
namespace {

using gateway::EventSources;
using gateway::EventStream;
using gateway::NamedDocuments;

// An EventStream over plain variables the test changes between calls.
struct World {
  std::uint64_t changes = 1;
  NamedDocuments documents{{"sessions", R"({"sessions":[]})"}, {"pool", R"({"queued":0})"}};
  bool allowed = true;
  bool readable = true;
  UnixMillis now = 1'000'000;
  int reads = 0;

  EventStream stream() {
    EventSources sources;
    sources.change_count = [this] { return changes; };
    sources.documents = [this]() -> Result<NamedDocuments> {
      ++reads;
      if (!readable) return make_error(ErrorCode::unavailable, "store down");
      return documents;
    };
    sources.still_allowed = [this] { return allowed; };
    sources.now = [this] { return now; };
    return EventStream(std::move(sources));
  }
};

TEST(EventStream, SendsEveryDocumentFirstThenOnlyWhatChanged) {
  World world;
  auto stream = world.stream();
  auto first = stream.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first,
            "retry: 3000\n\n"
            "event: sessions\ndata: {\"sessions\":[]}\n\n"
            "event: pool\ndata: {\"queued\":0}\n\n");

  EXPECT_EQ(stream.next(), "");  // nothing moved: the documents are not even read
  EXPECT_EQ(world.reads, 1);

  world.changes = 2;  // something was written, but not these documents
  EXPECT_EQ(stream.next(), "");
  EXPECT_EQ(world.reads, 2);

  world.changes = 3;
  world.documents[1].second = R"({"queued":1})";
  EXPECT_EQ(stream.next(), "event: pool\ndata: {\"queued\":1}\n\n");
}

TEST(EventStream, KeepsTheConnectionAliveEveryFifteenSeconds) {
  World world;
  auto stream = world.stream();
  ASSERT_TRUE(stream.next());
  world.now += gateway::kEventKeepAliveMillis - 1;
  EXPECT_EQ(stream.next(), "");
  world.now += 1;
  EXPECT_EQ(stream.next(), ": keep-alive\n\n");
  world.now += 1;
  EXPECT_EQ(stream.next(), "");
}

TEST(EventStream, EndsAtLogoutWhenTheCredentialGoesAndWhenTheStoreFails) {
  {
    World world;
    auto stream = world.stream();
    ASSERT_TRUE(stream.next());
    stream.close();  // logout, through the tunnel registry
    EXPECT_FALSE(stream.next());
  }
  {
    World world;
    auto stream = world.stream();
    ASSERT_TRUE(stream.next());
    world.allowed = false;
    EXPECT_EQ(stream.next(), "");  // checked only when there is something to send
    world.changes = 2;
    EXPECT_FALSE(stream.next());
  }
  {
    World world;
    auto stream = world.stream();
    world.allowed = false;
    EXPECT_FALSE(stream.next());  // nothing at all for a credential that no longer holds
  }
  {
    World world;
    world.readable = false;
    auto stream = world.stream();
    EXPECT_FALSE(stream.next());
  }
}

TEST(EventStream, ReleasesWhatOpeningItTookExactlyOnce) {
  int released = 0;
  {
    auto stream = std::make_shared<EventStream>(EventSources{});
    stream->on_release([&released] { ++released; });
  }
  EXPECT_EQ(released, 1);
}

}  // namespace
}  // namespace gpupool::testing
