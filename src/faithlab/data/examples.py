"""Built-in example sentences for demos and the default planted-feature job.

Written for faithlab (not taken from SST-2): short reviews and news lines about films, products, restaurants,
travel, books and markets, mixed in sentiment, some with negation or contrast so that slices have members.
"""

from __future__ import annotations

_SENTENCES = """
The film starts slowly but the last hour is gripping.
I laughed more than I expected to.
The plot makes no sense at all.
A warm and funny story about two brothers who never got along.
The acting is wooden and the dialogue is worse.
Visually stunning, though the script feels thin.
I would happily watch it again tomorrow.
It is far too long and nothing really happens.
The soundtrack alone is worth the ticket.
Not a single character felt real to me.
The director clearly loves these people, and it shows.
A clever thriller that keeps you guessing until the final scene.
The jokes land about half the time.
I did not care what happened to anyone on screen.
The sequel is better than the original in every way.
Beautiful photography cannot save a story this dull.
The lead actress gives the performance of her career.
It feels like three different movies stitched together.
My kids loved it, and honestly so did I.
The ending was rushed and left too many questions open.
A quiet, patient film that rewards your attention.
The special effects look cheap even for a small budget.
I walked out halfway through.
Every scene is packed with charm.
The villain is more interesting than the hero.
It never quite finds its rhythm.
A moving portrait of a small town in decline.
The first act is great, yet the rest falls apart.
Two hours of shouting and explosions with no heart.
The cast has wonderful chemistry together.
I kept checking my watch.
This documentary changed how I think about food.
The humour is crude and mostly falls flat.
Although it borrows from older films, it still feels fresh.
The story is predictable but the performances carry it.
A forgettable comedy with a few good moments.
The script is sharp, funny and surprisingly tender.
There is no tension in any of the action scenes.
I have seen this story told better many times.
An instant classic that I will recommend to everyone.
The animation is gorgeous and the songs are catchy.
It tries too hard to be profound.
The pacing is perfect from start to finish.
Nobody in the theatre laughed once.
A bold, strange and unforgettable debut.
The twist was obvious from the first ten minutes.
Despite a weak middle section, the finale is superb.
The costumes are lovely, but the characters are flat.
I left the cinema smiling.
The dialogue sounds like it was written by a committee.
This is the kind of film that stays with you for days.
The sound mix made half the lines impossible to hear.
An uneven but often brilliant experiment.
The child actors are remarkably natural.
It is neither scary nor funny, which is a problem for a horror comedy.
The romance at its centre never feels convincing.
A gentle and generous film about growing old.
The editing is choppy and confusing.
I was moved to tears by the final scene.
The movie is hardly worth the rental price.
Great cast, terrible script.
The battle scenes are thrilling and easy to follow.
It has the energy of a tired rerun.
The story drags, however the photography is breathtaking.
A smart satire that never talks down to its audience.
The sequel adds nothing new to the series.
I loved every minute of it.
The characters make one stupid decision after another.
A surprisingly sweet film about a grumpy old man and his dog.
The film looks expensive but feels empty.
The performances are strong across the whole cast.
It is a mess, but an entertaining one.
The score swells at all the wrong moments.
An honest, funny and very human story.
I could not wait for it to end.
The remake misses everything that made the original special.
A tense courtroom drama with a terrific central performance.
The humour feels dated and a little mean.
Even the minor roles are played with care.
The plot twists are clever without being silly.
I did not expect a cartoon to make me cry.
The ending is bleak yet strangely hopeful.
Nothing about this movie surprised me.
A perfect film for a rainy Sunday afternoon.
The dialogue is witty and the timing is spot on.
The lead seems bored in every scene.
It is a small film with a very big heart.
Too many subplots and not enough focus.
The horror scenes are genuinely frightening.
A heartfelt tribute to the golden age of cinema.
The battery lasts two full days on a single charge.
The screen cracked after one week of normal use.
Setup took less than five minutes.
The instructions were confusing and full of errors.
These headphones are comfortable even after hours of wear.
The charger stopped working after a month.
Great sound for the price.
The app crashes every time I open the settings page.
It is light, sturdy and easy to carry.
The zipper broke on the first trip.
Customer support replaced it without any fuss.
The fabric feels cheap and thin.
This blender crushes ice like nothing else I have owned.
The keyboard is nice, but the trackpad is unreliable.
I have used it daily for a year and it still works perfectly.
The camera struggles in low light.
It arrived late and the box was damaged.
Does exactly what it promises.
The color looks nothing like the photos online.
Best purchase I have made all year.
The vacuum is powerful though quite loud.
I returned it after two days.
The shoes are stylish and surprisingly comfortable.
The lid does not close properly.
The coffee maker brews a rich and hot cup every morning.
Not worth half of what I paid.
The speaker fills the whole room with clear sound.
The strap snapped while I was running.
My phone charges twice as fast with this cable.
The printer jams constantly.
It looks cheap, yet it has held up well.
The mattress is firm without being hard.
The software update made everything slower.
A solid little tablet for reading and video.
The pan scratched the first time I used it.
These socks are warm and have not shrunk in the wash.
The remote never responds on the first press.
Excellent build quality and a clean design.
The watch loses a few minutes every day.
I would buy this again without hesitation.
The plastic smells strange even after a week.
The backpack has plenty of pockets and the straps are padded.
The description promised waterproof, but it leaked in light rain.
Works well with every device I own.
The touch screen is slow and often ignores my taps.
The knife stays sharp after months of use.
The chair wobbles no matter how I adjust it.
A reliable router that has not dropped the signal once.
The handle got too hot to hold.
The lamp gives a soft and pleasant light.
It broke, and the warranty did not cover it.
Quiet, efficient and easy to clean.
The size chart is completely wrong.
The drill is compact but has plenty of power.
I never managed to pair it with my laptop.
The toy kept my daughter busy for hours.
The paint started peeling after a few weeks.
This kettle boils water in under two minutes.
The controller feels flimsy in my hands.
Good value, although the cable is rather short.
The mouse is precise and fits my hand well.
The seams came apart after one wash.
It is the most comfortable pillow I have ever slept on.
The hinge squeaks every time I open it.
The smart bulbs were easy to set up and work with my phone.
The scale gives a different reading every time.
I am impressed by how long the ink lasts.
The suitcase wheels jammed at the airport.
Simple to use, and my parents figured it out right away.
The display is bright and sharp even outdoors.
It overheats after twenty minutes of gaming.
The tent went up in minutes and kept us dry all night.
There is no way to turn off the annoying beep.
The grill heats evenly and cleans up easily.
The product is fine, but shipping took forever.
The soup was cold when it reached our table.
Best pizza I have had outside of Naples.
The waiter was rude and ignored us for twenty minutes.
A cosy little place with friendly staff.
The portions are tiny for the price.
Fresh ingredients and bold flavours in every dish.
The steak was overcooked and tough.
We will definitely come back for the desserts.
The music was so loud we could not talk.
The curry was rich, fragrant and perfectly spiced.
Our table was sticky and the menus were torn.
Service was slow, but the food made up for it.
The bread is baked in house and it shows.
I found a hair in my salad.
The pasta tasted homemade and comforting.
The restaurant was clean and beautifully decorated.
Nothing on the menu was vegetarian.
A great spot for a quiet dinner with friends.
The fries were soggy and bland.
The chef came out to greet every table.
We waited an hour for a table despite our booking.
The sushi was fresh and expertly cut.
The coffee was bitter and lukewarm.
Generous portions and reasonable prices.
The fish smelled off and we sent it back.
Lovely views from the terrace, though the food is average.
The staff went out of their way to help with my allergy.
Overpriced and underwhelming.
The tacos were simple but delicious.
The wine list is long yet the staff could not recommend anything.
Our server was attentive without hovering.
The burger was dry and the bun was stale.
Every dish we ordered was a hit.
The place was dirty and the bathroom was worse.
A hidden gem with the best dumplings in town.
The cake looked wonderful, but it tasted of nothing.
Breakfast was served fast and hot.
I would not send my worst enemy to this diner.
The cocktails are creative and well balanced.
The noodles were greasy and too salty.
The owner remembered our names from last time.
The bill included a charge we never agreed to.
A charming cafe with excellent pastries.
The rice was undercooked and crunchy.
Everything tasted fresh and seasonal.
The kitchen closed early without warning.
The ramen broth is deep and full of flavour.
The reservation system lost our booking.
A relaxed atmosphere and very kind staff.
The lamb was tender, although the sauce was too sweet.
We never got the drinks we ordered.
The tasting menu was worth every penny.
The chicken was raw in the middle.
The patio is a lovely place to spend a summer evening.
The food was fine, but nothing special.
I have never had a better croissant.
The manager argued with us instead of apologising.
Simple, honest cooking done very well.
The prices went up but the quality went down.
The vegan options are creative and filling.
Our pizza arrived burnt on one side.
The service was warm and the food was even better.
The ice cream melted before it reached us.
Shares of the company rose sharply after strong quarterly earnings.
The bank reported a surprise loss for the third quarter.
Investors welcomed the new chief executive.
The retailer cut its profit forecast for the second time this year.
Oil prices fell as demand weakened in Asia.
The startup raised new funding at a higher valuation.
Sales grew, but margins shrank because of rising costs.
The airline expects a record summer season.
The central bank held interest rates steady.
Profits beat analyst expectations for the fourth straight quarter.
The carmaker recalled thousands of vehicles over a braking fault.
The merger is expected to create thousands of jobs.
The company did not meet its revenue target.
Stocks closed higher after a volatile session.
The factory will close next year, ending hundreds of jobs.
Consumer confidence improved for a third month in a row.
The firm warned that supply problems would hurt its results.
Dividends were raised by ten percent.
The currency slid to its lowest level in a decade.
The chipmaker posted strong growth in data centre sales.
Regulators fined the lender for misleading customers.
Although revenue rose, the company still reported a net loss.
The retailer's online sales more than doubled.
Analysts downgraded the stock after weak guidance.
The insurer's shares plunged on news of a fraud inquiry.
Unemployment fell to its lowest level in years.
The company announced a generous share buyback.
Inflation rose faster than economists had predicted.
The brewer reported steady growth in all its markets.
Housing prices have not recovered since the crash.
The deal collapsed after regulators raised concerns.
The pharmaceutical group won approval for its new drug.
The telecom operator lost subscribers for the fifth quarter.
Exports hit a new high last month.
The bank's bad loans rose sharply.
The company's cash position remains strong.
Retail sales were flat despite heavy discounting.
The energy firm doubled its investment in solar power.
The software maker missed estimates and cut jobs.
Tourism revenue bounced back after a difficult year.
The company faces a lawsuit over its pension scheme.
Manufacturing output grew at the fastest pace in two years.
The stock has lost half its value since January.
The fund delivered solid returns for its clients.
Shipping costs soared, squeezing profits across the sector.
The grocer gained market share from its rivals.
Bond yields rose as investors sold government debt.
The company expects growth to slow but remain positive.
There was no sign of recovery in the property market.
The group's new factory opened ahead of schedule.
The cosmetics brand saw sales fall in every region.
Earnings were hurt by a weaker currency, yet the outlook improved.
The payment company signed a major new partner.
Shares dropped after the chairman resigned unexpectedly.
The utility raised prices for the third time this year.
The technology giant reported record cash flow.
The restructuring has not delivered the promised savings.
Farm incomes rose on strong harvests.
The logistics firm won a large government contract.
The hotel chain warned of a difficult winter.
The lender's profits rose thanks to higher interest rates.
The toy maker cut its outlook after a weak holiday season.
The hotel room was spotless and the bed was comfortable.
Our flight was delayed for six hours with no explanation.
The tour guide was knowledgeable and very funny.
The beach was crowded and covered in litter.
The train was on time and the seats were comfortable.
The view from our balcony was breathtaking.
The hotel looked nothing like the pictures.
A wonderful trip that I will never forget.
The museum was fascinating, but the queue was endless.
Check-in was quick and the staff were welcoming.
The pool was closed for the whole week.
The hike was hard yet the views were worth it.
The city felt safe and easy to explore on foot.
Our luggage was lost and nobody seemed to care.
The guesthouse owners treated us like family.
The room smelled of smoke even though it was non-smoking.
The ferry ride was calm and scenic.
The resort was overpriced for what it offered.
The walking tour was the highlight of our holiday.
Noise from the street kept us awake every night.
The novel is beautifully written and hard to put down.
The ending of the book felt unearned.
The author has a gift for small, true details.
I gave up on this book after fifty pages.
A gripping mystery with a satisfying solution.
The characters are thin and the plot is absurd.
The poems are short, but each one lands.
The translation is clumsy and hard to read.
An inspiring biography of a remarkable woman.
The sequel lacks the spark of the first book.
The audiobook narrator has a lovely voice.
The chapters are long and repetitive.
A funny and wise collection of essays.
The cookbook recipes actually work.
The textbook is dense, however the examples are helpful.
I did not learn anything new from this guide.
The comic is drawn with great care and wit.
The plot is slow, yet the writing is gorgeous.
A thoughtful book that asks hard questions.
The history is interesting but badly organised.
The concert was loud, joyful and far too short.
The band sounded tired and barely spoke to the crowd.
The new album is their best in a decade.
The singer could not hit the high notes.
The orchestra played with energy and precision.
The game is fun for about an hour, then it gets repetitive.
The puzzles are clever and never unfair.
The online mode is full of cheaters.
The graphics are dated, but the story is excellent.
The controls feel tight and responsive.
The course was well structured and the teacher was patient.
The gym is always crowded and the machines are often broken.
The dentist was gentle and explained everything clearly.
The plumber arrived late and did not fix the leak.
The mechanic was honest and charged a fair price.
The delivery driver left the parcel in the rain.
The bank resolved my problem in a single phone call.
The insurance claim took months and was still rejected.
The new park is a great place for families.
The bus service has become less reliable this year.
The library staff are always helpful and kind.
The parking situation is a nightmare.
The neighbours are friendly, though the walls are thin.
The website is clean, fast and easy to navigate.
The form kept losing everything I typed.
The update fixed every bug I had reported.
The podcast is informative and never boring.
The host interrupts his guests constantly.
The series finale tied everything together beautifully.
The second season is weaker, but still worth watching.
The show has not been funny for years.
The documentary series is careful, balanced and moving.
The workshop was practical and well worth the time.
The conference talks were mostly sales pitches.
The vet was calm and kind with our nervous cat.
The cleaning service missed half the rooms.
The haircut was exactly what I asked for.
The spa was relaxing, although a little expensive.
""".strip()


def builtin_sentences() -> list[str]:
    """The built-in sentences, in a fixed order (a fresh list each call)."""
    return _SENTENCES.splitlines()
